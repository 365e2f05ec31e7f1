/**
 * Reading the tools' answers defensively (any field may be missing or of another type; the
 * page shows what it can) and putting them on the page. Browser JavaScript kept as a string.
 * The shapes: get_training_status's job view (src/jobs/view.ts), get_training_metrics (terms,
 * points), get_system_stats (the bridge's `gpu` object or the UI server's `gpus` list).
 */
export const renderScript = String.raw`
var FINISHED = ["completed", "failed", "stopped", "lost"];

function el(id) { return document.getElementById(id); }
function isObject(value) { return typeof value === "object" && value !== null && !Array.isArray(value); }
function num(value) { return typeof value === "number" && isFinite(value) ? value : null; }
function str(value) { return typeof value === "string" && value ? value : null; }
function isFinished(status) { return FINISHED.indexOf(status) >= 0; }
function isJobView(data) { return isObject(data) && str(data.status) !== null && (num(data.current_step) !== null ||
  num(data.progress) !== null); }

function textOf(result) {
  var blocks = Array.isArray(result.content) ? result.content : [];
  return blocks.filter(function (b) { return isObject(b) && b.type === "text" && typeof b.text === "string";
    }).map(function (b) { return b.text; }).join("\n");
}

/** The same rounding as the Worker's own texts: seconds, then minutes, then hours. */
function duration(seconds) {
  var s = Math.round(seconds);
  if (s < 90) return s + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  return (s / 3600).toFixed(1) + " h";
}

function grouped(value) { return Math.round(value).toLocaleString("en-US"); }

function showNotice(text, kind) {
  var box = el("notice");
  box.hidden = !text;
  box.className = "notice" + (kind ? " " + kind : "");
  box.textContent = text || "";
}

function applyJob(data) {
  var job = {
    status: str(data.status) || "unknown",
    config: str(data.config),
    progress: num(data.progress),
    step: num(data.current_step),
    total: num(data.total_steps),
    loss: num(data.loss),
    lr: num(data.learning_rate),
    eta: num(data.estimated_time_remaining),
    rate: num(data.rate),
    elapsed: num(data.elapsed_seconds),
    notice: str(data.notice),
    reason: str(data.reason),
    stoppedBy: str(data.stopped_by),
    phase: str(data.phase),
  };
  state.job = job;
  el("title").textContent = job.config && job.config !== "unknown" ? job.config : "Training job";
  var pill = el("status");
  pill.textContent = job.status;
  pill.setAttribute("data-status", job.status);
  var percent = job.total ? (100 * (job.step || 0)) / job.total : job.progress || 0;
  percent = Math.max(0, Math.min(100, percent));
  el("bar-fill").style.width = percent.toFixed(1) + "%";
  el("bar").className = "bar" + (job.status === "completed" ? " done" : job.status === "failed" ||
    job.status === "lost" ? " bad" : "");
  el("step").textContent = job.total ? "Step " + grouped(job.step || 0) + " / " + grouped(job.total) :
    job.step !== null ? "Step " + grouped(job.step) : "–";
  el("pct").textContent = Math.round(percent) + "%";
  var parts = [];
  if (!isFinished(job.status)) {
    if (job.phase && job.phase !== "training") parts.push(job.phase);
    if (job.eta !== null) parts.push("≈ " + duration(job.eta) + " left");
    if (job.rate) parts.push(job.rate >= 1 ? job.rate.toFixed(2) + " it/s" : (1 / job.rate).toFixed(2) + " s/it");
  }
  if (job.elapsed !== null) parts.push(duration(job.elapsed) + " elapsed");
  el("eta").textContent = parts.join(" · ");
  el("loss").textContent = job.loss === null ? "–" : job.loss.toPrecision(4);
  el("lr").textContent = job.lr === null ? "–" : job.lr.toExponential(1).replace("e-", "e−");
  el("stop-box").hidden = isFinished(job.status);
  var note = job.notice || (job.status === "failed" && job.reason ? "Failed: " + job.reason : null);
  if (job.stoppedBy) note = "Stopped by " + job.stoppedBy + ".";
  if (note) showNotice(note, job.status === "failed" || job.status === "lost" || job.status === "stuck" ? "bad" : "");
  else if (el("notice").className === "notice bad") showNotice(null);
}

function renderMetrics(data) {
  var points = (Array.isArray(data.points) ? data.points : []).filter(function (p) { return isObject(p) &&
    num(p.step) !== null && isObject(p.losses); });
  points.sort(function (a, b) { return a.step - b.step; });
  var terms = (Array.isArray(data.terms) ? data.terms : []).filter(function (t) { return typeof t === "string"; });
  points.forEach(function (p) { Object.keys(p.losses).forEach(function (t) { if (terms.indexOf(t) < 0) terms.push(t);
    }); });
  // The main term first, so it keeps the first colour whatever the others are called.
  terms.sort(function (a, b) { return (b === "loss") - (a === "loss") || (a < b ? -1 : a > b ? 1 : 0); });
  var changed = terms.join() !== chart.terms.join();
  chart.terms = terms;
  chart.points = points;
  if (changed) renderTermToggles();
  drawChart();
}

/** GPU facts from either upstream: the bridge's gpu object (GB) or the UI server's gpus list (MiB). */
function gpuOf(stats) {
  if (!isObject(stats)) return null;
  var list = Array.isArray(stats.gpus) ? stats.gpus : Array.isArray(stats.gpu) ? stats.gpu : null;
  if (list && isObject(list[0])) {
    var g = list[0];
    var memory = isObject(g.memory) ? g.memory : {};
    var mib = function (v) { return num(v) === null ? null : v / 1024; };
    return { name: str(g.name), used: mib(memory.used), total: mib(memory.total), temp: num(g.temperature),
      util: isObject(g.utilization) ? num(g.utilization.gpu) : null };
  }
  if (isObject(stats.gpu) && stats.gpu.cuda_available !== false) {
    var b = stats.gpu;
    return {
      name: str(b.device_name), used: num(b.memory_allocated), total: num(b.memory_total),
      temp: num(b.temperature), util: num(b.utilization),
    };
  }
  return null;
}

function renderStats(stats) {
  var gpu = gpuOf(stats);
  var hasMemory = gpu !== null && gpu.used !== null;
  el("gpu-mem-tile").hidden = !hasMemory;
  el("gpu-temp-tile").hidden = gpu === null || gpu.temp === null;
  if (!gpu) return;
  if (hasMemory) {
    el("gpu-name").textContent = gpu.name ? "GPU memory · " + gpu.name : "GPU memory";
    el("gpu-mem").innerHTML = "";
    el("gpu-mem").appendChild(document.createTextNode(gpu.used.toFixed(1) + " "));
    var unit = document.createElement("small");
    unit.textContent = gpu.total ? "/ " + gpu.total.toFixed(0) + " GB" : "GB";
    el("gpu-mem").appendChild(unit);
    el("gpu-mem-fill").style.width = gpu.total ? Math.min(100, (100 * gpu.used) / gpu.total).toFixed(1) + "%" : "0";
  }
  if (gpu.temp !== null) el("gpu-temp").textContent = Math.round(gpu.temp) + " °C" + (gpu.util !== null ? " · " +
    Math.round(gpu.util) + "%" : "");
}

/** Only data: URIs: the host's policy loads no image from anywhere else. */
function imageSource(sample, block) {
  var candidates = [sample.data_uri, sample.image, sample.url, sample.src];
  for (var i = 0; i < candidates.length; i++) if (typeof candidates[i] === "string" &&
    candidates[i].indexOf("data:image/") === 0) return candidates[i];
  var data = str(sample.data) || (block && str(block.data));
  var mime = str(sample.mime_type) || str(sample.mimeType) || (block && str(block.mimeType)) || "image/jpeg";
  return data && mime.indexOf("image/") === 0 ? "data:" + mime + ";base64," + data : null;
}

function renderSamples(result) {
  if (result.isError === true) return samplesFailed(new Error(textOf(result) || "get_training_samples failed"));
  var data = isObject(result.structuredContent) ? result.structuredContent : {};
  var blocks = (Array.isArray(result.content) ? result.content : []).filter(function (b) { return isObject(b) &&
    b.type === "image"; });
  var listed = Array.isArray(data.samples) ? data.samples : blocks.map(function () { return {}; });
  // Image blocks follow the samples that have a preview, in order: one without (has_thumbnail false) takes none.
  var next = 0;
  var samples = listed.map(function (s) {
    s = isObject(s) ? s : {};
    var block = s.has_thumbnail === false ? null : blocks[next++];
    return { src: imageSource(s, block), step: num(s.step), prompt: str(s.prompt) };
  }).filter(function (s) { return s.src; });
  samples.sort(function (a, b) { return (b.step || 0) - (a.step || 0); });
  var grid = el("samples");
  grid.textContent = "";
  grid.hidden = false;
  el("samples-note").textContent = samples.length ? "" : "No samples yet.";
  samples.slice(0, 6).forEach(function (s) {
    var figure = document.createElement("figure");
    var img = document.createElement("img");
    img.src = s.src;
    img.alt = s.prompt || "sample";
    var caption = document.createElement("figcaption");
    var step = document.createElement("div");
    step.className = "num";
    step.innerHTML = "<b></b>";
    step.firstChild.textContent = s.step === null ? "Sample" : "Step " + grouped(s.step);
    var prompt = document.createElement("div");
    prompt.className = "prompt muted";
    prompt.textContent = s.prompt || "";
    prompt.title = s.prompt || "";
    caption.appendChild(step);
    caption.appendChild(prompt);
    figure.appendChild(img);
    figure.appendChild(caption);
    grid.appendChild(figure);
  });
}

/** No samples tool (or it failed): a plain note instead of the grid; a missing tool is not asked again. */
function samplesFailed(error) {
  var missing = /not found|unknown tool|method not found/i.test(error.message);
  if (missing) state.samplesMissing = true;
  el("samples").hidden = true;
  el("samples").textContent = "";
  el("samples-note").textContent = missing ? "This server does not offer training samples." : "Samples unavailable: " +
    error.message;
}

function renderPolling(mode) {
  el("updated").textContent = state.updatedAt ? "Updated " + state.updatedAt.toLocaleTimeString() : "";
  el("polling").textContent = mode === "paused" ? "Refresh paused" : mode === "done" ?
    "The job is over: no more refreshes" : "Refreshing every " + Math.round(mode / 1000) + " s";
}
`;
