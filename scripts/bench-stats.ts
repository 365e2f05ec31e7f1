// Shared figures for the benchmark scripts: percentiles, throughput, and the peak resident
// memory of a process tree sampled from /proc (the Worker runs in workerd, a child of wrangler).

import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return Number.NaN;
  const index = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return sortedMs[Math.max(0, index)] ?? Number.NaN;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  mean: number;
}

export function summarize(samplesMs: number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    mean: sorted.reduce((sum, x) => sum + x, 0) / Math.max(1, sorted.length),
  };
}

export async function timeCalls(count: number, call: () => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * The base model the benches' training configs name: a Hugging Face id, since
 * create_training_config refuses bare names such as "sd15".
 */
export const BENCH_BASE_MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5";

export const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
export const mbps = (bytes: number, ms: number) => bytes / 1e6 / (ms / 1000);

/** Resident memory (bytes) of a process and all its descendants, from /proc. */
export function treeRss(rootPid: number): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // the process ended while we looked
    }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop() as number;
    total += processRss(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Every process named `name` under `rootPid`, in pid order. */
export function findDescendants(rootPid: number, name: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (comm === name && isDescendant(Number(entry), rootPid)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found.sort((a, b) => a - b);
}

/**
 * The workerd process that runs the Worker (its isolate, and local R2, KV and Durable Objects).
 * wrangler dev starts two: one for its own proxy, which listens on the dev port and passes each
 * request on, and one for the Worker, which listens on a port of its own choosing ("entry=...:0").
 * Memory and CPU figures must come from the second.
 */
export function workerRuntimePid(wranglerPid: number, devPort: number): number {
  const runtimes = findDescendants(wranglerPid, "workerd").filter((pid) => {
    const args = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return !args.includes(`--socket-addr=entry=127.0.0.1:${devPort}`);
  });
  if (runtimes.length !== 1)
    throw new Error(`expected one workerd running the Worker under wrangler dev, found ${runtimes.length}`);
  return runtimes[0]!;
}

function isDescendant(pid: number, ancestor: number): boolean {
  let current = pid;
  for (let depth = 0; depth < 32 && current > 1; depth++) {
    if (current === ancestor) return true;
    const stat = readFileSync(`/proc/${current}/stat`, "utf8");
    current = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
  }
  return current === ancestor;
}

export function processRss(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match?.[1] ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples a process's RSS every few ms until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 20): { stop(): number } {
  let peak = processRss(pid);
  const timer = setInterval(() => (peak = Math.max(peak, processRss(pid))), everyMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, processRss(pid));
    },
  };
}

export function machine(): string {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "unknown CPU";
  const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor/gm)?.length ?? 0;
  const memGb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync("/proc/meminfo", "utf8"))?.[1] ?? 0) / 1024 / 1024;
  const wrangler = (
    JSON.parse(readFileSync(new URL("../node_modules/wrangler/package.json", import.meta.url), "utf8")) as {
      version: string;
    }
  ).version;
  const load = loadavg()
    .map((n) => n.toFixed(2))
    .join(", ");
  return `${cpu}, ${cores} cores, ${memGb.toFixed(0)} GB RAM, Node ${process.version}, wrangler ${wrangler}, load average ${load}`;
}
