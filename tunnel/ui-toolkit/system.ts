// GET /api/gpu and GET /api/cpu (ui/src/app/api/{gpu,cpu}/route.ts), both cached for 5 s
// upstream and here.
//
// /api/gpu never runs nvidia-smi: the stand-in is told which GPUs to report. None (the default)
// gives upstream's answer for a machine without nvidia-smi; a list gives `{hasNvidiaSmi: true,
// gpus}` (no isMac key, as upstream) with the fields nvidia-smi's CSV fills.

import { readFileSync } from "node:fs";
import os from "node:os";

import { json, type Router } from "./http.ts";

export interface FakeGpu {
  index: number;
  name: string;
  driverVersion: string;
  temperature: number;
  utilization: { gpu: number; memory: number };
  /** MiB. */
  memory: { total: number; free: number; used: number };
  power: { draw: number; limit: number };
  clocks: { graphics: number; memory: number };
  fan: { speed: number };
}

/** An idle 24 GB card, as nvidia-smi would describe it. */
export function fakeGpu(index: number): FakeGpu {
  return {
    index,
    name: "NVIDIA GeForce RTX 4090",
    driverVersion: "570.133.07",
    temperature: 38 + index,
    utilization: { gpu: 0, memory: 0 },
    memory: { total: 24564, free: 24076, used: 488 },
    power: { draw: 21.37, limit: 450 },
    clocks: { graphics: 210, memory: 405 },
    fan: { speed: 30 },
  };
}

function memory(): { total: number; free: number; available: number } {
  try {
    const lines = readFileSync("/proc/meminfo", "utf8").split("\n");
    const value = (key: string): number => {
      const line = lines.find((l) => l.startsWith(`${key}:`));
      return line === undefined ? Number.NaN : parseInt(line.slice(key.length + 1).trim(), 10) * 1024;
    };
    const total = value("MemTotal");
    const free = value("MemFree");
    const available = value("MemAvailable");
    if (!Number.isNaN(total) && !Number.isNaN(free))
      return { total, free, available: Number.isNaN(available) ? free : available };
  } catch {
    // not Linux
  }
  return { total: os.totalmem(), free: os.freemem(), available: os.freemem() };
}

function cpuLoad(): number {
  let busy = 0;
  let total = 0;
  for (const cpu of os.cpus()) {
    const t = cpu.times;
    const all = t.user + t.nice + t.sys + t.idle + t.irq;
    busy += all - t.idle;
    total += all;
  }
  return total > 0 ? (busy / total) * 100 : 0;
}

export function addSystemRoutes(router: Router, gpus: FakeGpu[] | null): void {
  const cache = new Map<string, { at: number; value: unknown }>();
  const cached = (key: string, make: () => unknown): unknown => {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < 5000) return hit.value;
    const value = make();
    cache.set(key, { at: Date.now(), value });
    return value;
  };

  router.add("GET", "/api/gpu", async () =>
    json(
      cached("gpu", () =>
        gpus === null
          ? { hasNvidiaSmi: false, isMac: false, gpus: [], error: "nvidia-smi not found or not accessible" }
          : { hasNvidiaSmi: true, gpus },
      ),
    ),
  );

  router.add("GET", "/api/cpu", async () =>
    json(
      cached("cpu", () => {
        const mem = memory();
        const MiB = 1024 * 1024;
        return {
          name: os.cpus()[0]?.model.trim() ?? "Unknown CPU",
          cores: os.availableParallelism(),
          temperature: 0,
          totalMemory: mem.total / MiB,
          availableMemory: mem.available / MiB,
          freeMemory: mem.free / MiB,
          currentLoad: cpuLoad(),
        };
      }),
    ),
  );
}
