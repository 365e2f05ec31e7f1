import { pageScript } from "./script";
import { escapeHtml } from "../../common";

/**
 * The browser page of an upload session. Self-contained (no external scripts, so it works
 * under a strict CSP and offline LANs); it talks only to the session URL it was served
 * under, which it derives from its own location.
 */
export function uploadPage(datasetName: string): string {
  const name = escapeHtml(datasetName);
  return (
    `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>Upload dataset ${name}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
#drop{border:3px dashed #888;border-radius:12px;padding:2em;text-align:center;background:#fafafa}
#drop.over{background:#e8f0ff;border-color:#36c}
progress{width:100%;height:14px}
.row{display:grid;grid-template-columns:72px 1fr 2fr;gap:.6em;align-items:center;border-bottom:1px solid ` +
    `#eee;padding:.4em 0}
.row img{width:72px;height:72px;object-fit:cover;border-radius:6px;background:#eee}
.row textarea{width:100%;min-height:3em}
.err{color:#b00}.ok{color:#070}.muted{color:#777;font-size:.9em}
button{font-size:1em;padding:.5em 1.2em}
</style></head><body>
<h1>Dataset <code>${name}</code></h1>
<p class="muted">Drop images (PNG, JPEG, WebP), their <code>.txt</code> captions, <code>captions.json</code>/<code>captions.csv</code> ` +
    `or a <code>.zip</code>.
Large files go in parts, several at once; after a reload or a dropped connection, ` +
    `drop the same files again and only what is missing is sent.</p>
<div id="drop">Drop files or a folder here, or <input type="file" ` +
    `id="pick" multiple> <label>folder: <input type="file" id="pickdir" ` +
    `webkitdirectory multiple></label></div>
<p><b>Total</b> <span id="totaltext">0 / 0 MB</span><progress id="total" value="0" max="1"></progress></p>
<p><button id="finalize">Send to the toolkit</button> <span id="state"></span></p>
<div id="forward"></div>
<div id="rejected" class="err"></div>
<div id="files"></div>
<script>${pageScript}</script>
</body></html>`
  );
}
