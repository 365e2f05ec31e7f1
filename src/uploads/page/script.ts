/**
 * The upload page's script, plain browser JavaScript kept as a string so the page is a
 * single response. Parts of PART bytes (R2 wants equal parts of at least 5 MiB) go out
 * PARALLEL at a time across all files; each request is retried with backoff, and before
 * sending a file the page asks which parts already arrived, which is what makes resume work.
 */
export const pageScript = String.raw`
const PART = 8 * 1024 * 1024, PARALLEL = 4, WHOLE_MAX = 8 * 1024 * 1024;
const base = location.pathname.replace(/\/page\/?$/, "");
const $ = (id) => document.getElementById(id);
const rows = new Map();
let totalBytes = 0, doneBytes = 0, active = 0, queue = [];
const enc = encodeURIComponent;

function row(name) {
  let r = rows.get(name);
  if (r) return r;
  const el = document.createElement("div"); el.className = "row"; el.dataset.name = name;
  el.innerHTML = '<img alt=""><div><div class="name"></div><progress value="0" max="1"></progress>' +
    '<div class="status muted"></div></div><textarea placeholder="caption (empty: the session default)"></textarea>';
  el.querySelector(".name").textContent = name;
  const ta = el.querySelector("textarea");
  ta.addEventListener("change", () => send("PUT", base + "/captions/" + enc(name), ta.value).then(() => status(name,
    "caption saved", "ok")).catch((e) => status(name, e.message, "err")));
  $("files").appendChild(el);
  r = { el, bar: el.querySelector("progress"), sent: 0, size: 0 };
  rows.set(name, r);
  return r;
}
function status(name, text, cls) { const s = row(name).el.querySelector(".status"); s.textContent = text;
  s.className = "status " + (cls || "muted"); }
function updateTotal() { $("total").max = Math.max(totalBytes, 1); $("total").value = doneBytes;
  $("totaltext").textContent = (doneBytes / 1e6).toFixed(1) + " / " + (totalBytes / 1e6).toFixed(1) + " MB"; }

function send(method, url, body, onProgress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    if (onProgress) x.upload.onprogress = (e) => onProgress(e.loaded);
    x.onload = () => { let j = {}; try { j = JSON.parse(x.responseText); } catch {} ; if (x.status < 300) resolve(j);
      else { const e = new Error(j.error || ("HTTP " + x.status)); e.status = x.status; reject(e); } };
    x.onerror = () => { const e = new Error("connection lost"); e.status = 0; reject(e); };
    x.send(body === undefined ? null : body);
  });
}
async function retry(fn) {
  for (let attempt = 0; ; attempt++) {
    try { return await fn(); } catch (e) {
      if ((e.status && e.status < 500 && e.status !== 408 && e.status !== 429) || attempt >= 6) throw e;
      await new Promise((r) => setTimeout(r, Math.min(30000, 1000 * 2 ** attempt)));
    }
  }
}
function slot(task) { return new Promise((resolve, reject) => { queue.push({ task, resolve, reject }); pump(); }); }
function pump() { while (active < PARALLEL && queue.length) { const { task, resolve, reject } = queue.shift(); active++;
  task().then(resolve, reject).finally(() => { active--; pump(); }); } }

async function uploadFile(file, known) {
  const name = file.name, r = row(name);
  r.size = file.size; totalBytes += file.size; updateTotal();
  if (/\.(png|jpe?g|webp)$/i.test(name)) r.el.querySelector("img").src = URL.createObjectURL(file);
  const have = known.get(name.toLowerCase());
  if (have && have.state !== "receiving" && have.size === file.size) { r.bar.value = 1; doneBytes += file.size;
    updateTotal(); status(name, "already uploaded", "ok"); return; }
  try {
    if (file.size <= WHOLE_MAX) {
      let last = 0;
      await slot(() => retry(() => { doneBytes -= last; last = 0; return send("PUT", base + "/files/" + enc(name), file,
        (n) => { doneBytes += n - last; last = n; r.bar.value = n / file.size; updateTotal(); }); }));
    } else {
      let received = new Set();
      try { const s = await send("GET", base + "/files/" + enc(name));
        if (s.state === "receiving") received = new Set(s.parts.map((p) => p.n)); } catch {}
      const count = Math.ceil(file.size / PART);
      let sent = 0;
      const parts = [];
      for (let n = 1; n <= count; n++) {
        const blob = file.slice((n - 1) * PART, Math.min(file.size, n * PART));
        if (received.has(n)) { sent += blob.size; doneBytes += blob.size; continue; }
        parts.push(slot(() => retry(() => { let last = 0; return send("PUT", base + "/files/" + enc(name) + "/parts/" +
          n, blob, (b) => { doneBytes += b - last; sent += b - last; last = b; r.bar.value = sent / file.size;
          updateTotal(); }).catch((e) => { doneBytes -= last; sent -= last; throw e; }); })));
      }
      r.bar.value = sent / file.size; updateTotal();
      await Promise.all(parts);
      await retry(() => send("POST", base + "/files/" + enc(name) + "/complete"));
    }
    r.bar.value = 1; status(name, "uploaded", "ok");
  } catch (e) { status(name, e.message, "err"); }
}

async function entries(items) {
  const files = [];
  async function walk(entry) {
    if (entry.isFile) files.push(await new Promise((res, rej) => entry.file(res, rej)));
    else if (entry.isDirectory) { const reader = entry.createReader(); for (;;) { const batch = await new Promise((res,
      rej) => reader.readEntries(res, rej)); if (!batch.length) break; for (const e of batch) await walk(e); } }
  }
  for (const item of items) { const e = item.webkitGetAsEntry && item.webkitGetAsEntry(); if (e) await walk(e);
    else if (item.getAsFile()) files.push(item.getAsFile()); }
  return files;
}

async function addFiles(list) {
  const files = [...list].filter((f) => !f.name.startsWith("."));
  const m = await send("GET", base);
  const known = new Map(m.files.map((f) => [f.name.toLowerCase(), f]));
  // Captions first: they are tiny and pair with images by name.
  files.sort((a, b) => (/\.(txt|json|csv)$/i.test(b.name) ? 1 : 0) - (/\.(txt|json|csv)$/i.test(a.name) ? 1 : 0));
  await Promise.all(files.map((f) => uploadFile(f, known)));
  await refresh();
}

async function refresh() {
  let m;
  try { m = await send("GET", base); } catch (e) { $("state").textContent = e.message; return; }
  $("state").textContent = "state: " + m.state + " · " + m.totals.images + (m.totals.images === 1 ? " image, " :
    " images, ") + (m.totals.staged_bytes / 1e6).toFixed(1) + " MB";
  for (const f of m.files) {
    const r = row(f.name); const ta = r.el.querySelector("textarea");
    if (document.activeElement !== ta) ta.value = f.caption;
    if (f.state !== "receiving") { r.bar.value = 1; if (!r.el.querySelector(".status").textContent) status(f.name,
      f.state, "ok"); }
    else status(f.name, "received parts " + f.parts.join(",") + ": drop the file again to resume");
  }
  $("rejected").textContent = m.rejected.map((r) => r.name + ": " + r.reason).join("\n");
  const fw = m.forward;
  $("forward").innerHTML = fw.batchesTotal ? '<b>Sending to the toolkit</b> batch ' + fw.batchesDone + " / " +
    fw.batchesTotal + ' <progress value="' + fw.batchesDone + '" max="' + fw.batchesTotal + '"></progress>' +
    (fw.error ? '<div class="err"></div>' : "") : "";
  if (fw.error) $("forward").querySelector(".err").textContent = fw.error;
  if (m.state === "complete") { const p = document.createElement("p"); p.className = "ok";
    p.textContent = "Done: the toolkit has " + fw.toolkitImages + " images in " + m.dataset_name + ".";
    $("forward").appendChild(p); }
  return m;
}

$("drop").addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
$("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
$("drop").addEventListener("drop", async (e) => { e.preventDefault(); $("drop").classList.remove("over");
  addFiles(await entries([...e.dataTransfer.items])); });
$("pick").addEventListener("change", (e) => addFiles(e.target.files));
$("pickdir").addEventListener("change", (e) => addFiles(e.target.files));
$("finalize").addEventListener("click", async () => {
  try { await send("POST", base + "/finalize"); } catch (e) { $("state").textContent = e.message; return; }
  const timer = setInterval(async () => { const m = await refresh(); if (!m ||
    m.state !== "forwarding") clearInterval(timer); }, 1500);
});
refresh();
`;
