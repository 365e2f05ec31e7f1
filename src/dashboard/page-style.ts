/**
 * The dashboard's stylesheet. Colours come from the host's style variables when it sends them
 * (McpUiStyles), else from this palette, chosen per theme by `data-theme` on the root element.
 */
export const dashboardStyle = `
:root {
  color-scheme: light;
  --c-bg: #ffffff; --c-surface: #f5f6f8; --c-text: #1b1f24; --c-muted: #5d6673; --c-border: #e2e5ea;
  --c-accent: #4c63e6; --c-track: #e6e9f0; --c-ok: #1d8f50; --c-bad: #cf3e3e; --c-warn: #b27808;
  --c-ok-bg: #e3f4ea; --c-bad-bg: #fbe7e7; --c-warn-bg: #fbf0d9; --c-run-bg: #e6eafd;
  --s1: #4c63e6; --s2: #e2703a; --s3: #1e9e74; --s4: #b845b0; --s5: #c79300;
}
:root[data-theme="dark"] {
  color-scheme: dark;
  --c-bg: #18191c; --c-surface: #212328; --c-text: #e9ebee; --c-muted: #a0a8b3; --c-border: #33363d;
  --c-accent: #8fa1ff; --c-track: #30343c; --c-ok: #5fd196; --c-bad: #ff8585; --c-warn: #f3bd4f;
  --c-ok-bg: #1d3328; --c-bad-bg: #3d2224; --c-warn-bg: #3a3020; --c-run-bg: #262c4a;
  --s1: #8fa1ff; --s2: #ff9e6b; --s3: #56d6a6; --s4: #e483dc; --s5: #f2cf55;
}
* { box-sizing: border-box; }
html, body { margin: 0; }
body {
  background: var(--color-background-primary, var(--c-bg));
  color: var(--color-text-primary, var(--c-text));
  font: 14px/1.45 var(--font-sans, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  padding: 16px;
}
.num { font-variant-numeric: tabular-nums; }
.mono { font-family: var(--font-mono, ui-monospace, SFMono-Regular, Menlo, monospace); }
.muted { color: var(--color-text-secondary, var(--c-muted)); }
header { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
header .title { flex: 1; min-width: 0; }
h1 { font-size: 17px; margin: 0; font-weight: 650; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
h2 { font-size: 13px; margin: 0; font-weight: 600; text-transform: uppercase; letter-spacing: .04em;
  color: var(--color-text-secondary, var(--c-muted)); }
.sub { font-size: 12px; }
.pill { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px; font-size: 12px;
  font-weight: 600; text-transform: capitalize; background: var(--c-run-bg); color: var(--c-accent); }
.pill::before { content: ""; width: 7px; height: 7px; border-radius: 50%; background: currentColor; }
.pill[data-status="running"]::before { animation: pulse 1.6s ease-in-out infinite; }
.pill[data-status="completed"] { background: var(--c-ok-bg); color: var(--c-ok); }
.pill[data-status="failed"] { background: var(--c-bad-bg); color: var(--c-bad); }
.pill[data-status="lost"] { background: var(--c-warn-bg); color: var(--c-warn); }
.pill[data-status="stopped"] { background: var(--c-surface); color: var(--c-muted); }
.pill[data-status="queued"] { background: var(--c-surface); color: var(--c-muted); }
.pill[data-status="stuck"] { background: var(--c-warn-bg); color: var(--c-warn); }
@keyframes pulse { 50% { opacity: .3; } }
button { font: inherit; font-size: 13px; border-radius: 8px; padding: 5px 12px; cursor: pointer;
  border: 1px solid var(--color-border-primary, var(--c-border)); background: var(--c-surface); color: inherit; }
button:disabled { opacity: .5; cursor: default; }
button.danger { border-color: var(--c-bad); color: var(--c-bad); background: transparent; }
button.danger.solid { background: var(--c-bad); color: var(--c-bg); }
.stop { display: flex; gap: 6px; align-items: center; }
.notice { margin-top: 12px; padding: 8px 12px; border-radius: 8px; background: var(--c-warn-bg); color: var(--c-warn);
  font-size: 13px; }
.notice.bad { background: var(--c-bad-bg); color: var(--c-bad); }
.notice.ok { background: var(--c-ok-bg); color: var(--c-ok); }
.progress { margin-top: 16px; }
.bar { height: 10px; border-radius: 999px; background: var(--c-track); overflow: hidden; }
.bar > div { height: 100%; width: 0; border-radius: inherit; background: var(--c-accent); transition: width .6s ease; }
.bar.done > div { background: var(--c-ok); }
.bar.bad > div { background: var(--c-bad); }
.progress-line { display: flex; justify-content: space-between; gap: 12px; flex-wrap: wrap; margin-top: 6px;
  font-size: 13px; }
.progress-line strong { font-size: 15px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 10px; margin-top: 16px; }
.tile { background: var(--color-background-secondary, var(--c-surface)); border-radius: 10px; padding: 10px 12px; }
.tile .label { font-size: 12px; color: var(--color-text-secondary, var(--c-muted)); }
.tile .value { font-size: 18px; font-weight: 650; margin-top: 2px; }
.tile .value small { font-size: 12px; font-weight: 500; color: var(--color-text-secondary, var(--c-muted)); }
.tile .bar { height: 5px; margin-top: 6px; }
section.card { margin-top: 16px; border: 1px solid var(--color-border-primary, var(--c-border)); border-radius: 12px;
  padding: 12px 14px; }
.card-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; margin-bottom: 8px; }
.card-head h2 { flex: 1; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 2px 10px; border-radius: 999px; font-size: 12px;
  background: transparent; }
.chip i { width: 10px; height: 3px; border-radius: 2px; background: var(--term); }
.chip[aria-pressed="false"] { opacity: .45; text-decoration: line-through; }
label.switch { display: inline-flex; align-items: center; gap: 4px; font-size: 12px; cursor: pointer; }
.chart { position: relative; }
.chart svg { display: block; width: 100%; height: 220px; overflow: visible; }
.chart .grid line { stroke: var(--c-border); }
.chart .axis text { fill: var(--color-text-secondary, var(--c-muted)); font-size: 11px; }
.chart path.line { fill: none; stroke-width: 2; stroke-linejoin: round; stroke-linecap: round; }
.chart .cursor { stroke: var(--c-muted); stroke-dasharray: 3 3; }
.tip { position: absolute; pointer-events: none; background: var(--c-bg); border: 1px solid var(--c-border);
  border-radius: 8px; padding: 6px 9px; font-size: 12px; box-shadow: 0 4px 14px rgba(0,0,0,.15); white-space: nowrap; }
.tip b { display: block; margin-bottom: 2px; }
.tip span { display: flex; align-items: center; gap: 6px; }
.tip span i { width: 8px; height: 8px; border-radius: 50%; background: var(--term); }
.empty { padding: 24px 0; text-align: center; font-size: 13px; }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.samples figure { margin: 0; background: var(--color-background-secondary, var(--c-surface)); border-radius: 10px;
  overflow: hidden; }
.samples img { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; }
.samples figcaption { padding: 6px 8px; font-size: 12px; }
.samples figcaption .prompt { display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical;
  overflow: hidden; }
footer { margin-top: 14px; font-size: 12px; display: flex; justify-content: space-between; gap: 8px; }
[hidden] { display: none !important; }
`;
