// `npm run bench:upload`: a 1 GB dataset through the Worker (PUT to an upload session, then
// finalize: R2 staging and batched, streamed forwarding) versus posting the same images
// straight to the toolkit's upload_dataset in bodies of the same size limit, plus the peak
// resident memory of the Worker's workerd process during each Worker transfer, and its growth
// over the level reached after an unprinted warm-up upload. A 256 MB run comes before the 1 GB
// one, so the two show whether memory grows with the dataset. The local toolkit answers like the
// original bridge (the whole answer in one write with a Content-Length). Loopback only.

import { callTool, startStack, type Stack } from "../test/e2e/harness";
import { pool, testImage } from "../test/e2e/upload-data";
import { findDescendant, machine, mbps, processRss, sampleRss } from "./bench-stats";

const MiB = 1024 * 1024;
const FILE = 8 * MiB;
const BATCH_LIMIT = 90_000_000;

const images = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => ({
    name: `img_${tag}_${String(i).padStart(4, "0")}.png`,
    seed: `${tag}-${i}`,
  }));

async function throughWorker(
  stack: Stack,
  dataset: string,
  count: number,
): Promise<{ ms: number; peakRss: number; baseRss: number }> {
  const workerd = findDescendant(stack.wranglerPid, "workerd");
  if (!workerd) throw new Error("the workerd process under wrangler dev was not found");
  const client = await stack.connect();
  const created = await callTool(client, "create_dataset_upload", { dataset_name: dataset, default_caption: "bench" });
  const base = String(created.structuredContent?.upload_url);
  const baseRss = processRss(workerd);
  const sampler = sampleRss(workerd);
  const started = performance.now();
  await pool(images(count, dataset), 4, async ({ name, seed }) => {
    const response = await fetch(`${base}/files/${name}`, { method: "PUT", body: testImage(seed, FILE) });
    if (response.status !== 201) throw new Error(`PUT ${name}: ${response.status} ${await response.text()}`);
  });
  const finalize = await fetch(`${base}/finalize`, { method: "POST" });
  if (finalize.status !== 202) throw new Error(`finalize: ${finalize.status} ${await finalize.text()}`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const manifest = (await (await fetch(base)).json()) as { state: string; forward: { error?: string } };
    if (manifest.state === "complete") break;
    if (manifest.state !== "forwarding")
      throw new Error(`forwarding ended in ${manifest.state}: ${manifest.forward.error}`);
  }
  const ms = performance.now() - started;
  return { ms, peakRss: sampler.stop(), baseRss };
}

/** The original way: the same images as base64 in upload_dataset bodies under the same limit. */
async function direct(stack: Stack, dataset: string, count: number): Promise<number> {
  const perBatch = Math.floor(BATCH_LIMIT / (Math.ceil(FILE / 3) * 4 + 200));
  const all = images(count, dataset);
  const started = performance.now();
  for (let i = 0; i < all.length; i += perBatch) {
    const batch = all.slice(i, i + perBatch).map(({ name, seed }) => ({
      filename: name,
      caption: "bench",
      data: Buffer.from(testImage(seed, FILE)).toString("base64"),
    }));
    const response = await fetch(`${stack.toolkitUrl}/mcp/execute`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ tool: "upload_dataset", arguments: { dataset_name: dataset, images: batch } }),
    });
    const answer = (await response.json()) as { success: boolean; result?: { images_saved?: number } };
    if (!answer.success || answer.result?.images_saved !== batch.length)
      throw new Error(`direct upload failed: ${JSON.stringify(answer).slice(0, 200)}`);
  }
  return performance.now() - started;
}

async function main(): Promise<void> {
  const stack = await startStack();
  try {
    console.log(
      `Dataset upload bench on ${machine()}; images of ${FILE / MiB} MiB, batch bodies ≤ ` +
        `${BATCH_LIMIT / 1e6} MB, loopback only.\n`,
    );
    await throughWorker(stack, "bench_warmup", 4);
    const warmRss = processRss(findDescendant(stack.wranglerPid, "workerd") ?? 0);
    const rows: string[] = [];
    for (const count of [32, 128]) {
      const bytes = count * FILE;
      const worker = await throughWorker(stack, `bench_w${count}`, count);
      const directMs = await direct(stack, `bench_d${count}`, count);
      const w = mbps(bytes, worker.ms);
      const d = mbps(bytes, directMs);
      rows.push(
        `| ${(bytes / 1e6).toFixed(0)} MB (${count} files) | ${w.toFixed(1)} MB/s | ${d.toFixed(1)} MB/s | ` +
          `${(w / d).toFixed(2)} | ${(worker.baseRss / MiB).toFixed(0)} MiB | ` +
          `${(worker.peakRss / MiB).toFixed(0)} MiB | ${((worker.peakRss - warmRss) / MiB).toFixed(0)} MiB |`,
      );
    }
    console.log(`workerd RSS after a ${(4 * FILE) / MiB} MiB warm-up upload: ${(warmRss / MiB).toFixed(0)} MiB\n`);
    console.log(
      "| dataset | through the Worker (upload + finalize) | straight to the toolkit | ratio | workerd RSS " +
        "before | workerd peak RSS | peak growth over warmed-up |",
    );
    console.log("|---|---|---|---|---|---|---|");
    for (const row of rows) console.log(row);
  } finally {
    await stack.stop();
  }
}

await main();
