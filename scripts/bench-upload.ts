// `npm run bench:upload`: a 200 MB dataset (ten 20 MiB images) through the Worker versus one direct
// upload of the same files. Through the Worker the clock runs from the first byte PUT to an upload
// session until the session is complete (the toolkit confirmed the last file and its image count),
// in two ways: with `auto_forward: true` (each image's caption is PUT first, so images go to the
// toolkit while the others still upload), and without it (everything is forwarded after finalize).
// Direct: the same images as base64 in one upload_dataset call to the toolkit. Also the peak
// memory of the Worker isolate (through its inspector), and the peak resident memory of the
// workerd process that runs it (with local R2, KV and Durable Objects) over the level after an
// unprinted warm-up.
// The local toolkit answers like the original bridge. Loopback only. BENCH_UPLOAD_FILES and
// BENCH_UPLOAD_FILE_MB change the dataset.

import { callTool, startStack, type Stack } from "../test/e2e/harness";
import { pool, testImage } from "../test/e2e/upload-data";
import { machine, mbps, processRss, sampleRss, workerRuntimePid } from "./bench-stats";
import { IsolateMemory } from "./isolate-memory";

const MiB = 1024 * 1024;
const FILES = Number(process.env.BENCH_UPLOAD_FILES ?? 10);
const FILE = Number(process.env.BENCH_UPLOAD_FILE_MB ?? 20) * MiB;
/** PUTs in flight at once, as a browser or a parallel curl would. */
const PARALLEL_PUTS = 4;

const images = (count: number, tag: string) =>
  Array.from({ length: count }, (_, i) => ({
    name: `img_${tag}_${String(i).padStart(4, "0")}.png`,
    seed: `${tag}-${i}`,
  }));

async function throughWorker(
  stack: Stack,
  workerd: number,
  isolate: IsolateMemory,
  dataset: string,
  count: number,
  autoForward: boolean,
  /** Sample what is live (forcing collections, which slows the run: its time is not used). */
  live = false,
): Promise<{ ms: number; peakRss: number; isolatePeak: number }> {
  const client = await stack.connect();
  const created = await callTool(client, "create_dataset_upload", {
    dataset_name: dataset,
    default_caption: "bench",
    auto_forward: autoForward,
  });
  await client.close();
  const base = String(created.structuredContent?.upload_url);
  const files = images(count, dataset).map((image) => ({ ...image, bytes: testImage(image.seed, FILE) }));
  const sampler = sampleRss(workerd);
  const isolateSampler = live ? isolate.sampleLive() : isolate.sample();
  const started = performance.now();
  await pool(files, PARALLEL_PUTS, async ({ name, bytes }) => {
    // The caption first, so an auto-forward session may send the image as soon as it is staged.
    const caption = await fetch(`${base}/captions/${name}`, { method: "PUT", body: `bench ${name}` });
    if (caption.status !== 200) throw new Error(`PUT caption of ${name}: ${caption.status} ${await caption.text()}`);
    const response = await fetch(`${base}/files/${name}`, { method: "PUT", body: bytes });
    if (response.status !== 201) throw new Error(`PUT ${name}: ${response.status} ${await response.text()}`);
  });
  const finalize = await fetch(`${base}/finalize`, { method: "POST" });
  if (finalize.status !== 202) throw new Error(`finalize: ${finalize.status} ${await finalize.text()}`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const manifest = (await (await fetch(base)).json()) as { state: string; forward: { error?: string } };
    if (manifest.state === "complete") break;
    if (manifest.state !== "forwarding")
      throw new Error(`forwarding ended in ${manifest.state}: ${manifest.forward.error}`);
  }
  const ms = performance.now() - started;
  return { ms, peakRss: sampler.stop(), isolatePeak: await isolateSampler.stop() };
}

/** The original way: the same images as base64 in one upload_dataset call. */
async function direct(stack: Stack, dataset: string, count: number): Promise<number> {
  const files = images(count, dataset).map((image) => ({ ...image, bytes: testImage(image.seed, FILE) }));
  const started = performance.now();
  const batch = files.map(({ name, bytes }) => ({
    filename: name,
    caption: `bench ${name}`,
    data: Buffer.from(bytes).toString("base64"),
  }));
  const response = await fetch(`${stack.toolkitUrl}/mcp/execute`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ tool: "upload_dataset", arguments: { dataset_name: dataset, images: batch } }),
  });
  const answer = (await response.json()) as { success: boolean; result?: { images_saved?: number } };
  if (!answer.success || answer.result?.images_saved !== batch.length)
    throw new Error(`direct upload failed: ${JSON.stringify(answer).slice(0, 200)}`);
  return performance.now() - started;
}

async function main(): Promise<void> {
  const stack = await startStack();
  let isolate: IsolateMemory | undefined;
  try {
    isolate = await IsolateMemory.connect(stack.wranglerPid);
    const workerd = workerRuntimePid(stack.wranglerPid, Number(new URL(stack.workerUrl).port));
    const bytes = FILES * FILE;
    console.log(
      `Dataset upload bench on ${machine()}; ${FILES} images of ${FILE / MiB} MiB ` +
        `(${(bytes / 1e6).toFixed(0)} MB), ${PARALLEL_PUTS} PUTs in flight, bridge stand-in ` +
        `(tunnel/toolkit), loopback only.\n`,
    );
    await throughWorker(stack, workerd, isolate, "bench_warmup", 2, true);
    const warmRss = processRss(workerd);
    const directMs = await direct(stack, "bench_direct", FILES);
    const auto = await throughWorker(stack, workerd, isolate, "bench_auto", FILES, true);
    const finalizeOnly = await throughWorker(stack, workerd, isolate, "bench_final", FILES, false);
    const autoLive = await throughWorker(stack, workerd, isolate, "bench_auto_live", FILES, true, true);
    const finalizeLive = await throughWorker(stack, workerd, isolate, "bench_final_live", FILES, false, true);
    const directRate = mbps(bytes, directMs);
    console.log(`workerd RSS after a warm-up upload: ${(warmRss / MiB).toFixed(0)} MiB\n`);
    console.log(
      "| path | time | rate | ratio to direct | Worker isolate peak (JS heap + ArrayBuffers) | " +
        "isolate live peak (separate run) | workerd peak growth over warmed-up |",
    );
    console.log("|---|---|---|---|---|---|---|");
    console.log(
      `| direct: one upload_dataset call to the bridge | ${(directMs / 1000).toFixed(1)} s | ${directRate.toFixed(1)} MB/s | 1.00 | | | |`,
    );
    for (const [label, run, live] of [
      ["Worker, auto_forward (first PUT → last file confirmed)", auto, autoLive],
      ["Worker, forwarded after finalize", finalizeOnly, finalizeLive],
    ] as const) {
      const rate = mbps(bytes, run.ms);
      console.log(
        `| ${label} | ${(run.ms / 1000).toFixed(1)} s | ${rate.toFixed(1)} MB/s | ${(rate / directRate).toFixed(2)} | ` +
          `${(run.isolatePeak / MiB).toFixed(0)} MiB | ${(live.isolatePeak / MiB).toFixed(0)} MiB | ` +
          `${((run.peakRss - warmRss) / MiB).toFixed(0)} MiB |`,
      );
    }
  } finally {
    isolate?.close();
    await stack.stop();
  }
}

await main();
