import { bridgeScript } from "./page-bridge";
import { chartScript } from "./page-chart";
import { renderScript } from "./page-render";
import { dashboardStyle } from "./page-style";

/**
 * The dashboard's markup. Everything is inline (style, script, images as data: URIs) because a
 * host's default App policy loads nothing from anywhere else.
 */
const body =
  `
<header>
  <div class="title">
    <h1 id="title">Training job</h1>
    <div class="sub muted"><span id="job-id" class="mono">waiting for the job…</span></div>
  </div>
  <span id="status" class="pill" data-status="starting">waiting</span>
  <div class="stop" id="stop-box" hidden>
    <button id="stop" class="danger" type="button">Stop training</button>
    <span id="stop-confirm" hidden>
      <span class="muted">Stop this run?</span>
      <button id="stop-yes" class="danger solid" type="button">Stop now</button>
      <button id="stop-no" type="button">Keep training</button>
    </span>
  </div>
</header>
<div id="notice" class="notice" hidden></div>
<div class="progress">
  <div class="bar" id="bar"><div id="bar-fill"></div></div>
  <div class="progress-line">
    <span class="num"><strong id="step">–</strong> <span class="muted" id="pct"></span></span>
    <span class="num muted" id="eta"></span>
  </div>
</div>
<div class="tiles">
  <div class="tile"><div class="label">Loss</div><div class="value num" id="loss">–</div></div>
  <div class="tile"><div class="label">Learning rate</div><div class="value num" id="lr">–</div></div>
  <div class="tile" id="gpu-mem-tile" hidden><div class="label" id="gpu-name">GPU memory</div><div class="value num" id="gpu-mem">–</div><div ` +
  `class="bar"><div id="gpu-mem-fill"></div></div></div>
  <div class="tile" id="gpu-temp-tile" hidden><div class="label">GPU temperature</div><div class="value num" ` +
  `id="gpu-temp">–</div></div>
</div>
<section class="card">
  <div class="card-head">
    <h2>Loss</h2>
    <span id="terms"></span>
    <label class="switch"><input type="checkbox" id="log-scale"> log scale</label>
  </div>
  <div class="chart" id="chart"><div class="empty muted">No loss values yet.</div></div>
</section>
<section class="card" id="samples-card">
  <div class="card-head"><h2>Samples</h2><span class="muted sub" id="samples-note"></span></div>
  <div class="samples" id="samples"></div>
</section>
<footer class="muted"><span id="updated"></span><span id="polling"></span></footer>
`;

/** The whole page, one string; built once per isolate since it never changes. */
let cached: string | undefined;

export function dashboardHtml(): string {
  cached ??= `<!doctype html>
<html lang="en" data-theme="light">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Training dashboard</title>
<style>${dashboardStyle}</style>
</head>
<body>${body}
<script>
"use strict";
(function () {
${bridgeScript}
${chartScript}
${renderScript}
start();
})();
</script>
</body>
</html>
`;
  return cached;
}
