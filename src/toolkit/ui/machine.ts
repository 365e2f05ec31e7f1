import { ToolkitError } from "../errors";
import type { UpstreamHealth } from "../upstream";
import type { UiClient } from "./client";
import { UI } from "./failures";
import { isActive, trainJobs } from "./job-lookup";
import type { UiCpu, UiGpu, UiJobStatus } from "./schemas";

/** What health() names the server; the UI reports no version of its own. */
export const UI_SERVER = "ai-toolkit UI";

/**
 * The UI's machine: whether it answers and takes the token, its GPUs, CPU and memory, and
 * counts of its jobs and datasets.
 */

/** `GET /api/auth`, not retried: a health check reports what one attempt found. Never throws. */
export async function uiHealth(client: UiClient): Promise<UpstreamHealth> {
  const started = Date.now();
  try {
    await client.auth({ retry: false });
    return { ok: true, latencyMs: Date.now() - started, server: UI_SERVER };
  } catch (error) {
    const latencyMs = Date.now() - started;
    if (error instanceof ToolkitError) {
      return { ok: false, latencyMs, server: UI_SERVER, error: error.message, failure: error };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, latencyMs, server: UI_SERVER, error: `checking ${UI} failed unexpectedly: ${message}` };
  }
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const gib = (mib: number | null) => (mib === null ? null : round(mib / 1024, 2));

/**
 * One object from `/api/gpu` and `/api/cpu`, keeping the bridge's keys where they mean the same
 * (cpu_percent, memory_percent, gpu.cuda_available, gpu.device_name, gpu.memory_allocated in GB).
 * The bridge's disk_usage and torch's memory_reserved have no counterpart on the UI and are left
 * out. When one of the two reads fails the other is still reported, with a note saying why.
 */
export async function uiSystemStats(client: UiClient): Promise<Record<string, unknown>> {
  const [gpu, cpu] = await Promise.allSettled([client.gpu(), client.cpu()]);
  if (gpu.status === "rejected" && cpu.status === "rejected") throw gpu.reason;
  const stats: Record<string, unknown> = { server: UI_SERVER };
  if (cpu.status === "fulfilled") Object.assign(stats, cpuStats(cpu.value));
  else stats.cpu_note = `${UI} did not report its CPU and memory: ${reasonOf(cpu.reason)}`;
  if (gpu.status === "fulfilled") Object.assign(stats, gpuStats(gpu.value));
  else {
    stats.gpu = { cuda_available: false };
    stats.gpus = [];
    stats.gpu_note = `${UI} did not report its GPUs: ${reasonOf(gpu.reason)}`;
  }
  return stats;
}

function cpuStats(cpu: UiCpu): Record<string, unknown> {
  const total = cpu.totalMemory;
  const available = cpu.availableMemory ?? cpu.freeMemory;
  const memoryPercent = total && available !== null ? round(((total - available) / total) * 100, 1) : null;
  return {
    cpu_percent: cpu.currentLoad === null ? null : round(cpu.currentLoad, 1),
    memory_percent: memoryPercent,
    cpu: { name: cpu.name, cores: cpu.cores, temperature_c: cpu.temperature, load_percent: cpu.currentLoad },
    memory: {
      total_mib: total,
      available_mib: cpu.availableMemory,
      free_mib: cpu.freeMemory,
      used_percent: memoryPercent,
    },
  };
}

function gpuStats(answer: UiGpu): Record<string, unknown> {
  const gpus = answer.gpus.map((gpu) => ({
    index: gpu.index,
    name: gpu.name,
    driver_version: gpu.driverVersion,
    memory_total_mib: gpu.memory.total,
    memory_used_mib: gpu.memory.used,
    memory_free_mib: gpu.memory.free,
    utilization_percent: gpu.utilization.gpu,
    memory_utilization_percent: gpu.utilization.memory,
    temperature_c: gpu.temperature,
    power_draw_w: gpu.power.draw,
    power_limit_w: gpu.power.limit,
  }));
  const first = gpus[0];
  const stats: Record<string, unknown> = {
    gpus,
    gpu: first
      ? {
          cuda_available: answer.hasNvidiaSmi,
          device_name: first.name,
          device_count: gpus.length,
          // nvidia-smi's "used" is the whole device's, not one process's as torch reports it.
          memory_allocated: gib(first.memory_used_mib),
          memory_total: gib(first.memory_total_mib),
          utilization_percent: first.utilization_percent,
        }
      : { cuda_available: false },
  };
  if (!answer.hasNvidiaSmi || gpus.length === 0) {
    const why = answer.error ? ` (${answer.error})` : "";
    stats.gpu_note = answer.isMac
      ? `${UI} runs on a Mac: there is no nvidia-smi, so no GPU readings${why}`
      : answer.hasNvidiaSmi
        ? `nvidia-smi on ${UI}'s machine lists no GPUs${why}`
        : `${UI} found no nvidia-smi on its machine, so it reports no GPUs${why}: check the NVIDIA driver there`;
  }
  return stats;
}

function reasonOf(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason);
}

/**
 * Counts from the UI's job list and datasets. `models` counts completed training jobs (each
 * ends with a final .safetensors): listing every job's files would cost one call per job.
 */
export async function uiTrainingInfo(client: UiClient): Promise<Record<string, unknown>> {
  const [jobs, datasets] = await Promise.all([trainJobs(client), client.datasets()]);
  const byStatus: Partial<Record<UiJobStatus, number>> = {};
  for (const job of jobs) byStatus[job.status] = (byStatus[job.status] ?? 0) + 1;
  return {
    total_jobs: jobs.length,
    active_jobs: jobs.filter(isActive).length,
    queued_jobs: byStatus.queued ?? 0,
    configs: jobs.length,
    datasets: datasets.length,
    models: byStatus.completed ?? 0,
    jobs_by_status: byStatus,
  };
}
