/**
 * The loss chart: inline SVG, one line per loss term, a hover cursor with the step and every
 * shown value, term toggles and a log-scale switch. Browser JavaScript kept as a string.
 */
export const chartScript = String.raw`
var SVG_NS = "http://www.w3.org/2000/svg";
var CHART_HEIGHT = 220;
var PAD = { left: 56, right: 14, top: 10, bottom: 24 };
var chart = { terms: [], points: [], hidden: {}, log: false };

function termColor(term) {
  var index = chart.terms.indexOf(term);
  return "var(--s" + ((index < 0 ? 0 : index) % 5 + 1) + ")";
}

function svgNode(name, attributes, parent) {
  var node = document.createElementNS(SVG_NS, name);
  Object.keys(attributes).forEach(function (key) { node.setAttribute(key, String(attributes[key])); });
  if (parent) parent.appendChild(node);
  return node;
}

/** Round tick values spanning [min, max]. */
function niceTicks(min, max, count) {
  var span = max - min || Math.abs(max) || 1;
  var raw = span / count;
  var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
  var step = [1, 2, 2.5, 5, 10].map(function (f) { return f * magnitude; }).find(function (s) { return s >= raw; }) ||
    raw;
  var ticks = [];
  for (var value = Math.ceil(min / step) * step; value <= max + step * 1e-9;
    value += step) ticks.push(Number(value.toPrecision(12)));
  return ticks;
}

function shortNumber(value) {
  if (value === 0) return "0";
  var size = Math.abs(value);
  if (size >= 10000 || size < 0.001) return value.toExponential(1).replace("e-", "e−");
  return String(Number(value.toPrecision(3)));
}

function renderTermToggles() {
  var box = el("terms");
  box.textContent = "";
  if (chart.terms.length < 2) return;
  chart.terms.forEach(function (term) {
    var chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.setAttribute("data-term", term);
    chip.setAttribute("aria-pressed", String(!chart.hidden[term]));
    chip.style.setProperty("--term", termColor(term));
    chip.innerHTML = "<i></i>";
    chip.appendChild(document.createTextNode(term));
    chip.addEventListener("click", function () {
      chart.hidden[term] = !chart.hidden[term];
      renderTermToggles();
      drawChart();
    });
    box.appendChild(chip);
  });
}

function drawChart() {
  var box = el("chart");
  box.textContent = "";
  var shown = chart.terms.filter(function (term) { return !chart.hidden[term]; });
  var usable = function (value) { return typeof value === "number" && isFinite(value) && (!chart.log || value > 0); };
  var values = [];
  chart.points.forEach(function (point) {
    shown.forEach(function (term) { if (usable(point.losses[term])) values.push(point.losses[term]); });
  });
  if (!values.length) {
    var note = !chart.points.length ? "No loss values yet." : !shown.length ? "Every loss term is hidden." :
      "No positive values to show on a log scale.";
    box.innerHTML = '<div class="empty muted"></div>';
    box.firstChild.textContent = note;
    return;
  }
  var scale = function (value) { return chart.log ? Math.log10(value) : value; };
  var low = Math.min.apply(null, values.map(scale));
  var high = Math.max.apply(null, values.map(scale));
  var margin = (high - low) * 0.06 || Math.abs(high) * 0.1 || 1;
  low -= margin;
  high += margin;
  if (!chart.log && low < 0 && Math.min.apply(null, values) >= 0) low = 0;
  var first = chart.points[0].step;
  var last = chart.points[chart.points.length - 1].step;
  var width = Math.max(box.clientWidth, 280);
  var plotW = width - PAD.left - PAD.right;
  var plotH = CHART_HEIGHT - PAD.top - PAD.bottom;
  var x = function (step) { return PAD.left + (last === first ? plotW / 2 : ((step - first) / (last - first)) * plotW);
    };
  var y = function (value) { return PAD.top + (1 - (scale(value) - low) / (high - low)) * plotH; };

  var svg = svgNode("svg", { viewBox: "0 0 " + width + " " + CHART_HEIGHT, role: "img", "aria-label": "Loss by step" },
    box);
  var grid = svgNode("g", { class: "grid" }, svg);
  var axis = svgNode("g", { class: "axis" }, svg);
  niceTicks(low, high, 5).forEach(function (tick) {
    var ty = PAD.top + (1 - (tick - low) / (high - low)) * plotH;
    svgNode("line", { x1: PAD.left, x2: width - PAD.right, y1: ty, y2: ty }, grid);
    var label = svgNode("text", { x: PAD.left - 8, y: ty + 4, "text-anchor": "end" }, axis);
    label.textContent = shortNumber(chart.log ? Math.pow(10, tick) : tick);
  });
  var stepTicks = last === first ? [first] : niceTicks(first, last, Math.max(2, Math.floor(plotW / 90)));
  stepTicks.forEach(function (tick) {
    var label = svgNode("text", { x: x(tick), y: CHART_HEIGHT - 6, "text-anchor": "middle" }, axis);
    label.textContent = String(Math.round(tick));
  });

  shown.forEach(function (term) {
    var d = "";
    var pen = "M";
    chart.points.forEach(function (point) {
      var value = point.losses[term];
      if (!usable(value)) { pen = "M"; return; }
      d += pen + x(point.step).toFixed(1) + " " + y(value).toFixed(1) + " ";
      pen = "L";
    });
    if (d) svgNode("path", { class: "line", d: d, stroke: termColor(term), "data-term": term }, svg);
  });

  var cursor = svgNode("line", { class: "cursor", y1: PAD.top, y2: PAD.top + plotH, visibility: "hidden" }, svg);
  var dots = svgNode("g", {}, svg);
  var tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  box.appendChild(tip);
  var hit = svgNode("rect", { x: PAD.left, y: PAD.top, width: plotW, height: plotH, fill: "transparent" }, svg);

  hit.addEventListener("mousemove", function (event) {
    var bounds = svg.getBoundingClientRect();
    var px = ((event.clientX - bounds.left) / bounds.width) * width;
    var nearest = chart.points[0];
    chart.points.forEach(function (point) {
      if (Math.abs(x(point.step) - px) < Math.abs(x(nearest.step) - px)) nearest = point; });
    var cx = x(nearest.step);
    cursor.setAttribute("x1", cx);
    cursor.setAttribute("x2", cx);
    cursor.setAttribute("visibility", "visible");
    dots.textContent = "";
    tip.innerHTML = "";
    var head = document.createElement("b");
    head.textContent = "Step " + nearest.step;
    tip.appendChild(head);
    shown.forEach(function (term) {
      var value = nearest.losses[term];
      if (!usable(value)) return;
      svgNode("circle", { cx: cx, cy: y(value), r: 3.5, fill: termColor(term) }, dots);
      var row = document.createElement("span");
      row.style.setProperty("--term", termColor(term));
      row.innerHTML = "<i></i>";
      row.appendChild(document.createTextNode(term + " " + value.toPrecision(4)));
      tip.appendChild(row);
    });
    tip.hidden = false;
    var left = (cx / width) * bounds.width + 12;
    if (left + tip.offsetWidth > bounds.width) left -= tip.offsetWidth + 24;
    tip.style.left = Math.max(0, left) + "px";
    tip.style.top = PAD.top + "px";
  });
  hit.addEventListener("mouseleave", function () {
    cursor.setAttribute("visibility", "hidden");
    dots.textContent = "";
    tip.hidden = true;
  });
}

function wireChart() {
  el("log-scale").addEventListener("change", function (event) {
    chart.log = event.target.checked;
    drawChart();
  });
  var pendingDraw = null;
  window.addEventListener("resize", function () {
    clearTimeout(pendingDraw);
    pendingDraw = setTimeout(drawChart, 100);
  });
}
`;
