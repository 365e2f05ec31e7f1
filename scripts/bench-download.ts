/**
 * npm run bench:download — a model through the Worker versus straight from the toolkit, all on
 * loopback (local toolkit + wrangler dev with local R2), against both upstreams in turn: the
 * bridge's stand-in (tunnel/toolkit) and ai-toolkit UI's (tunnel/ui-toolkit, AI_TOOLKIT_API=ui).
 * Prints, for each:
 *  - direct: the bridge's download_model answer read to the end (the base64 JSON body), or the
 *    UI's GET /api/files of the same file (raw bytes with a Content-Length, as its front server
 *    answers);
 *  - worker: download_model through MCP (toolkit → Worker → R2), then the signed link read
 *    to the end, and both together;
 *  - the Worker isolate's memory (its JS heap and the ArrayBuffers it holds, read through its
 *    inspector, garbage not yet collected included) and the resident memory of the workerd
 *    process that runs it (VmRSS from /proc, which also holds local R2, KV and Durable Objects),
 *    both sampled every 20 ms during each transfer; the process's growth is taken over the level
 *    reached after a warm-up transfer of a small model;
 *  - what the isolate keeps live, from a separate untimed transfer of another model of the same
 *    size, with a garbage collection forced before each reading.
 * The local toolkit answers like the original bridge (FastAPI's JSONResponse): the whole answer
 * in one write with a Content-Length. Sizes can be changed with BENCH_SIZES_MB=100,500, the
 * servers with BENCH_SERVERS=bridge,ui.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { startStack, type Stack } from "../test/e2e/harness";
import { hashBody, writeSafetensors } from "../test/e2e/model-files";
import { machine, mbps, processRss, sampleRss, workerRuntimePid } from "./bench-stats";
import { IsolateMemory } from "./isolate-memory";

const MiB = 1024 * 1024;
const servers = (process.env.BENCH_SERVERS ?? "bridge,ui").split(",").map((s) => s.trim()) as Array<"bridge" | "ui">;
const sizes = (process.env.BENCH_SIZES_MB ?? "300").split(",").map((s) => Number(s.trim()) * MiB);

interface Watched {
  /** The workerd process that runs the Worker (with local R2, KV and Durable Objects). */
  pid: number;
  /** The Worker isolate's own memory. */
  isolate: IsolateMemory;
}

/** Runs `work` while sampling workerd's RSS and the isolate's memory; returns its result, the time and the peaks. */
async function measured<T>(watched: Watched, work: () => Promise<T>) {
  const rss = sampleRss(watched.pid);
  const isolate = watched.isolate.sample();
  const started = performance.now();
  try {
    const result = await work();
    const ms = performance.now() - started;
    return { result, ms, peak: rss.stop(), isolatePeak: await isolate.stop() };
  } catch (error) {
    rss.stop();
    await isolate.stop();
    throw error;
  }
}

const rate = (bytes: number, ms: number) => `${mbps(bytes, ms).toFixed(1)} MB/s`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const WARMUP_SIZE = 16 * MiB;

/**
 * Puts a model of `size` bytes where the stack's upstream lists it, and returns its name and how
 * to fetch it directly: the bridge's download_model call, or the UI's /api/files of the file (a
 * finished train job's final model, in the job's folder under the UI's training folder).
 */
async function placeModel(
  stack: Stack,
  size: number,
  suffix = "",
): Promise<{ name: string; direct: () => Promise<Response> }> {
  const name = `bench_${size / MiB}mb${suffix}`;
  if (!stack.ui) {
    await writeSafetensors(join(stack.dataDir, "outputs", `${name}.safetensors`), size);
    const body = JSON.stringify({ tool: "download_model", arguments: { model_name: name, encoding: "base64" } });
    return {
      name,
      direct: () =>
        fetch(`${stack.toolkitUrl}/mcp/execute`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body,
        }),
    };
  }
  const job = await fetch(`${stack.ui.url}/api/jobs`, {
    method: "POST",
    headers: { Authorization: `Bearer ${stack.ui.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, gpu_ids: "0", job_config: { job: "extension", config: { name } } }),
  });
  if (!job.ok) throw new Error(`the UI stand-in refused the bench job: ${job.status} ${await job.text()}`);
  const folder = join(stack.ui.dataDir, "output", name);
  await mkdir(folder, { recursive: true });
  const file = join(folder, `${name}.safetensors`);
  await writeSafetensors(file, size);
  // The front server answers /api/files itself, without the token, as ai-toolkit's UI does.
  return { name, direct: () => fetch(`${stack.ui!.url}/api/files/${encodeURIComponent(file)}`) };
}

async function bench(stack: Stack, workerd: Watched, size: number, warmRss: number, quiet = false): Promise<void> {
  const { name, direct: fetchDirect } = await placeModel(stack, size);
  const direct = await measured(workerd, async () => {
    const response = await fetchDirect();
    if (!response.ok) throw new Error(`direct download: ${response.status} ${await response.text()}`);
    return hashBody(response);
  });

  const client = await stack.connect();
  const baseline = processRss(workerd.pid);
  const isolateBaseline = await workerd.isolate.bytes();
  const staged = await measured(workerd, () =>
    client.callTool({ name: "download_model", arguments: { model_name: name, encoding: "raw" } }, undefined, {
      timeout: 1_800_000,
    }),
  );
  const s = (staged.result.structuredContent ?? {}) as Record<string, unknown>;
  if (staged.result.isError || typeof s.download_url !== "string")
    throw new Error(`download_model failed: ${JSON.stringify(staged.result.content)}`);
  const link = await measured(workerd, async () => hashBody(await fetch(s.download_url as string)));
  if (link.result.bytes !== size) throw new Error(`the link served ${link.result.bytes} bytes, expected ${size}`);
  await client.close();

  const total = staged.ms + link.ms;
  if (quiet) return;
  const live = await liveMemory(stack, workerd.isolate, size);
  const growth = Math.max(staged.peak, link.peak) - warmRss;
  const server = stack.ui ? "ai-toolkit UI stand-in (tunnel/ui-toolkit)" : "bridge stand-in (tunnel/toolkit)";
  const what = stack.ui ? "GET /api/files, raw" : "download_model, base64 JSON";
  console.log(`\n${server}: model ${mib(size)} (${mib(direct.result.bytes)} of ${what})`);
  console.log(`  direct: ${what.padEnd(27)} ${secs(direct.ms)}  ${rate(size, direct.ms)}`);
  console.log(
    `  worker: stage into R2      ${secs(staged.ms)}  ${rate(size, staged.ms)}  ` +
      `(${(direct.ms / staged.ms).toFixed(2)}x the direct rate)`,
  );
  console.log(`  worker: signed link        ${secs(link.ms)}  ${rate(size, link.ms)}`);
  console.log(
    `  worker: both               ${secs(total)}  ${rate(size, total)}  ` +
      `(${(direct.ms / total).toFixed(2)}x the direct rate)`,
  );
  console.log(
    `  Worker isolate (JS heap + ArrayBuffers): ${mib(isolateBaseline)} before, peak while ` +
      `staging ${mib(staged.isolatePeak)}, peak while serving ${mib(link.isolatePeak)}`,
  );
  console.log(
    `  Worker isolate, live (a collection before each reading, every 100 ms; another model of the same size): ` +
      `peak while staging ${mib(live.staging)}, while serving ${mib(live.serving)}`,
  );
  console.log(
    `  workerd RSS (the isolate and local R2, KV, Durable Objects): before ${mib(baseline)}, peak while staging ` +
      `${mib(staged.peak)}, peak while serving ${mib(link.peak)}, growth over the warmed-up level ${mib(growth)}`,
  );
}

/**
 * What the isolate keeps live while it stages and serves a model like the timed one (under another
 * name, so it crosses the tunnel again): the forced collections slow the transfer, so this run is
 * never timed.
 */
async function liveMemory(stack: Stack, isolate: IsolateMemory, size: number) {
  const { name } = await placeModel(stack, size, "_live");
  const client = await stack.connect();
  try {
    const staging = isolate.sampleLive();
    const staged = await client.callTool(
      { name: "download_model", arguments: { model_name: name, encoding: "raw" } },
      undefined,
      {
        timeout: 1_800_000,
      },
    );
    const stagingPeak = await staging.stop();
    const url = (staged.structuredContent as Record<string, unknown> | undefined)?.download_url;
    if (staged.isError || typeof url !== "string")
      throw new Error(`download_model failed: ${JSON.stringify(staged.content)}`);
    const serving = isolate.sampleLive();
    await hashBody(await fetch(url));
    return { staging: stagingPeak, serving: await serving.stop() };
  } finally {
    await client.close();
  }
}

console.log(machine());
for (const toolkit of servers) {
  const stack = await startStack({ toolkit });
  let isolate: IsolateMemory | undefined;
  try {
    isolate = await IsolateMemory.connect(stack.wranglerPid);
    const workerd: Watched = {
      pid: workerRuntimePid(stack.wranglerPid, Number(new URL(stack.workerUrl).port)),
      isolate,
    };
    console.log(`\n[${toolkit}] workerd pid ${workerd.pid}, RSS at rest ${mib(processRss(workerd.pid))}`);
    // One small model first, unprinted: the isolate, R2 and the parser warm up outside the figures.
    await bench(stack, workerd, WARMUP_SIZE, 0, true);
    const warmRss = processRss(workerd.pid);
    console.log(`[${toolkit}] workerd RSS after a ${mib(WARMUP_SIZE)} warm-up: ${mib(warmRss)}`);
    for (const size of sizes) await bench(stack, workerd, size, warmRss);
  } finally {
    isolate?.close();
    await stack.stop();
  }
}
console.log(`\n${machine()}`);
