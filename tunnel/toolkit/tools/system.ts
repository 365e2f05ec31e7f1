// get_system_stats: real numbers from this machine, shaped like psutil's and torch's.

import { execFile } from "node:child_process";
import { readFile, statfs } from "node:fs/promises";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

import type { JsonObject, ToolHandler } from "./common.ts";

const round1 = (n: number): number => Math.round(n * 10) / 10;

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    idle += t.idle;
    total += t.user + t.nice + t.sys + t.idle + t.irq;
  }
  return { idle, total };
}

/** Busy share of all CPUs over a short window (psutil.cpu_percent measures since its last call). */
async function cpuPercent(windowMs = 100): Promise<number> {
  const a = cpuTimes();
  await sleep(windowMs);
  const b = cpuTimes();
  const total = b.total - a.total;
  return total > 0 ? round1((1 - (b.idle - a.idle) / total) * 100) : 0;
}

/** psutil's virtual_memory().percent: (total - available) / total, with MemAvailable on Linux. */
async function memoryPercent(): Promise<number> {
  const total = os.totalmem();
  let available = os.freemem();
  try {
    const match = /^MemAvailable:\s+(\d+) kB/m.exec(await readFile("/proc/meminfo", "utf8"));
    if (match) available = Number(match[1]) * 1024;
  } catch {
    // Not Linux: free memory is the closest figure.
  }
  return round1(((total - available) / total) * 100);
}

/** psutil's disk_usage().percent (used / (used + available to users)) for the data folder's disk. */
async function diskPercent(dir: string): Promise<number> {
  const s = await statfs(dir);
  const used = (s.blocks - s.bfree) * s.bsize;
  const usable = used + s.bavail * s.bsize;
  return usable > 0 ? round1((used / usable) * 100) : 0;
}

/**
 * GPU facts from nvidia-smi when there is one. The original asks torch inside its own process,
 * where nothing is allocated; the used memory of the card is the more useful figure, so both
 * memory fields carry it (GB). No nvidia-smi means no CUDA, remembered so it is not looked up
 * again on every call.
 */
let noGpu = false;
async function gpuInfo(): Promise<JsonObject> {
  if (noGpu) return { cuda_available: false };
  const output = await new Promise<string | null>((resolve) => {
    execFile(
      "nvidia-smi",
      ["--query-gpu=name,memory.used", "--format=csv,noheader,nounits"],
      { timeout: 3000 },
      (error, stdout) => resolve(error ? null : stdout),
    );
  });
  const lines =
    output
      ?.trim()
      .split("\n")
      .filter((l) => l !== "") ?? [];
  const [name, usedMiB] = (lines[0] ?? "").split(",").map((s) => s.trim());
  if (!name) {
    noGpu = true;
    return { cuda_available: false };
  }
  const usedGb = Number(usedMiB) / 1024;
  return {
    cuda_available: true,
    device_count: lines.length,
    current_device: 0,
    device_name: name,
    memory_allocated: Number.isFinite(usedGb) ? usedGb : 0,
    memory_reserved: Number.isFinite(usedGb) ? usedGb : 0,
  };
}

const getSystemStats: ToolHandler = async (_args, { layout }) => {
  const [cpu, memory, disk, gpu] = await Promise.all([
    cpuPercent(),
    memoryPercent(),
    diskPercent(layout.root),
    gpuInfo(),
  ]);
  return { cpu_percent: cpu, memory_percent: memory, disk_usage: disk, gpu };
};

export const systemTools = {
  get_system_stats: getSystemStats,
} satisfies Record<string, ToolHandler>;
