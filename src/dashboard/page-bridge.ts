/**
 * The page's side of the MCP Apps protocol (spec 2026-01-26), written small instead of inlining
 * the SDK's 540 KB App bundle: JSON-RPC over postMessage with the host, the ui/initialize
 * handshake, the notifications the page cares about, tools/call through the host, size
 * reports, and the polling schedule. Browser JavaScript kept as a string: it runs in the host's
 * sandboxed frame, not in the Worker.
 */
export const bridgeScript = String.raw`
var PROTOCOL_VERSION = "2026-01-26";
/** While the job runs: one refresh every few seconds. */
var RUNNING_POLL_MS = 5000;
/** Once it is over: a couple of slower looks (the final numbers settle), then none. */
var FINISHED_POLL_MS = [30000, 120000];
/** Samples are heavy (data URIs) and change only every few hundred steps. */
var SAMPLES_EVERY_MS = 30000;
var REQUEST_TIMEOUT_MS = 30000;

var state = {
  jobId: null, job: null, timer: null, inflight: false, finishedPolls: 0,
  lastSamplesAt: 0, samplesMissing: false, tornDown: false, updatedAt: null,
};
var nextId = 1;
var pending = {};

function post(message) {
  // The host's sandbox proxy has no origin we could know in advance; the host checks the source.
  window.parent.postMessage(message, "*");
}

function request(method, params) {
  return new Promise(function (resolve, reject) {
    var id = nextId++;
    var timer = setTimeout(function () {
      delete pending[id];
      reject(new Error(method + " got no answer within " + REQUEST_TIMEOUT_MS / 1000 + " s"));
    }, REQUEST_TIMEOUT_MS);
    pending[id] = {
      resolve: function (value) { clearTimeout(timer); resolve(value); },
      reject: function (error) { clearTimeout(timer); reject(error); },
    };
    post({ jsonrpc: "2.0", id: id, method: method, params: params || {} });
  });
}

function notify(method, params) {
  post({ jsonrpc: "2.0", method: method, params: params || {} });
}

window.addEventListener("message", function (event) {
  if (event.source !== window.parent) return;
  var message = event.data;
  if (!isObject(message) || message.jsonrpc !== "2.0") return;
  if (typeof message.method === "string") {
    if (message.id !== undefined && message.id !== null) answerHost(message);
    else onNotification(message.method, isObject(message.params) ? message.params : {});
    return;
  }
  var waiter = pending[message.id];
  if (!waiter) return;
  delete pending[message.id];
  if (isObject(message.error)) waiter.reject(new Error(str(message.error.message) || "error " + message.error.code));
  else waiter.resolve(message.result);
});

function answerHost(message) {
  if (message.method === "ui/resource-teardown") {
    state.tornDown = true;
    clearTimeout(state.timer);
    post({ jsonrpc: "2.0", id: message.id, result: {} });
  } else if (message.method === "ping") {
    post({ jsonrpc: "2.0", id: message.id, result: {} });
  } else {
    post({ jsonrpc: "2.0", id: message.id, error: { code: -32601, message: "Method not found: " + message.method } });
  }
}

function onNotification(method, params) {
  if (method === "ui/notifications/tool-input") adoptJob(isObject(params.arguments) ? params.arguments : {});
  else if (method === "ui/notifications/tool-result") onToolResult(params);
  else if (method === "ui/notifications/host-context-changed") applyHostContext(params);
  else if (method === "ui/notifications/tool-cancelled") showNotice("The tool call was cancelled" +
    (str(params.reason) ? ": " + params.reason : "") + ".", "bad");
}

/** The tool that opened the page names the job, in its arguments or its result. */
function adoptJob(source) {
  var id = str(source.job_id);
  if (!id || id === state.jobId) return;
  state.jobId = id;
  state.job = null;
  state.finishedPolls = 0;
  state.lastSamplesAt = 0;
  el("job-id").textContent = id;
  refresh();
}

function onToolResult(result) {
  var data = isObject(result.structuredContent) ? result.structuredContent : {};
  if (result.isError === true) showNotice(textOf(result) || "The tool failed.", "bad");
  if (isJobView(data)) applyJob(data);
  adoptJob(data);
}

/** tools/call through the host; resolves with the CallToolResult, rejects on a protocol error. */
function callTool(name, args) {
  return request("tools/call", { name: name, arguments: args }).then(function (result) {
    if (!isObject(result)) throw new Error(name + " answered nothing");
    return result;
  });
}

/** The structured answer of a tool, or a rejection carrying its error text. */
function callData(name, args) {
  return callTool(name, args).then(function (result) {
    if (result.isError === true) throw new Error(textOf(result) || name + " failed");
    return isObject(result.structuredContent) ? result.structuredContent : {};
  });
}

function refresh() {
  clearTimeout(state.timer);
  state.timer = null;
  if (!state.jobId || state.inflight || state.tornDown) return;
  state.inflight = true;
  var id = state.jobId;
  var calls = [
    callData("get_training_status", { job_id: id }).then(function (data) { if (isJobView(data)) applyJob(data); },
      function (error) {
      showNotice("Could not read the job: " + error.message, "bad");
    }),
    callData("get_training_metrics", { job_id: id, points: 200 }).then(renderMetrics, function () {}),
    callData("get_system_stats", {}).then(renderStats, function () { renderStats(null); }),
  ];
  if (!state.samplesMissing && Date.now() - state.lastSamplesAt >= SAMPLES_EVERY_MS) {
    state.lastSamplesAt = Date.now();
    calls.push(callTool("get_training_samples", { job_id: id, count: 6 }).then(renderSamples, samplesFailed));
  }
  Promise.all(calls).then(function () {
    state.inflight = false;
    state.updatedAt = new Date();
    schedule();
  });
}

/** Fast while the job runs, slower then silent once it is over, nothing while hidden. */
function schedule() {
  clearTimeout(state.timer);
  state.timer = null;
  var delay = RUNNING_POLL_MS;
  if (state.job && isFinished(state.job.status)) {
    delay = state.finishedPolls < FINISHED_POLL_MS.length ? FINISHED_POLL_MS[state.finishedPolls] : null;
    state.finishedPolls += 1;
  }
  var paused = document.hidden || state.tornDown;
  if (delay !== null && !paused) state.timer = setTimeout(refresh, delay);
  renderPolling(paused ? "paused" : delay === null ? "done" : delay);
}

document.addEventListener("visibilitychange", function () {
  if (document.hidden) {
    clearTimeout(state.timer);
    state.timer = null;
    renderPolling("paused");
  } else if (!state.job || !isFinished(state.job.status)) {
    refresh();
  }
});

function askToStop() {
  el("stop").hidden = true;
  el("stop-confirm").hidden = false;
}

function cancelStop() {
  el("stop").hidden = false;
  el("stop-confirm").hidden = true;
}

function confirmStop() {
  var buttons = [el("stop-yes"), el("stop-no")];
  buttons.forEach(function (button) { button.disabled = true; });
  callTool("stop_training", { job_id: state.jobId }).then(function (result) {
    showNotice(textOf(result) || (result.isError ? "Stopping failed." : "Stop requested."), result.isError ? "bad" :
      "ok");
  }, function (error) {
    showNotice("Could not stop the job: " + error.message, "bad");
  }).then(function () {
    buttons.forEach(function (button) { button.disabled = false; });
    cancelStop();
    state.finishedPolls = 0;
    refresh();
  });
}

function applyHostContext(context) {
  if (!isObject(context)) return;
  var root = document.documentElement;
  if (context.theme === "light" || context.theme === "dark") root.setAttribute("data-theme", context.theme);
  var variables = isObject(context.styles) && isObject(context.styles.variables) ? context.styles.variables : {};
  Object.keys(variables).forEach(function (key) {
    if (key.indexOf("--") === 0 && typeof variables[key] === "string") root.style.setProperty(key, variables[key]);
  });
}

/** Tells the host the page's height whenever it changes, so the frame fits without scrolling. */
function watchSize() {
  var last = 0;
  var report = function () {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    notify("ui/notifications/size-changed", { height: height });
  };
  if (typeof ResizeObserver === "function") new ResizeObserver(report).observe(document.body);
  report();
}

function start() {
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  applyHostContext({ theme: dark ? "dark" : "light" });
  el("stop").addEventListener("click", askToStop);
  el("stop-no").addEventListener("click", cancelStop);
  el("stop-yes").addEventListener("click", confirmStop);
  wireChart();
  request("ui/initialize", {
    appInfo: { name: "ai-toolkit-training-dashboard", version: "1.0.0" },
    appCapabilities: {},
    protocolVersion: PROTOCOL_VERSION,
  }).then(function (result) {
    if (isObject(result)) applyHostContext(result.hostContext);
    notify("ui/notifications/initialized", {});
    watchSize();
  }, function (error) {
    showNotice("The host did not answer: " + error.message, "bad");
  });
}
`;
