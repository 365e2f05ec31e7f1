import { z } from "zod";
import { answer, defineTool, readOnly, type DefinedTool } from "../tool";

/**
 * get_system_stats, get_training_info: what the GPU box is doing. Both relay the toolkit's
 * answer as it is (its fields depend on the machine: psutil, CUDA), so their output schemas
 * are the toolkit protocol's loose objects.
 */
export function systemTools(): DefinedTool[] {
  return [
    defineTool({
      name: "get_system_stats",
      title: "System stats",
      description: "CPU, memory, disk and GPU usage of the toolkit's machine.",
      input: z.object({}),
      output: z.looseObject({}),
      annotations: readOnly,
      async run(_args, { upstream }) {
        const stats = await upstream.systemStats();
        const gpu = (stats.gpu ?? {}) as Record<string, unknown>;
        const gpuText = gpu.cuda_available
          ? `GPU ${String(gpu.device_name ?? "?")}: ${String(gpu.memory_allocated ?? "?")} GB allocated, ` +
            `${String(gpu.memory_reserved ?? "?")} GB reserved`
          : "no CUDA GPU available";
        const text =
          `CPU ${String(stats.cpu_percent ?? "?")}%, memory ${String(stats.memory_percent ?? "?")}%, disk ` +
          `${String(stats.disk_usage ?? "?")}%, ${gpuText}.`;
        return answer(stats, text);
      },
    }),

    defineTool({
      name: "get_training_info",
      title: "Training overview",
      description: "Counts of jobs, active jobs, configurations, datasets and models on the toolkit.",
      input: z.object({}),
      output: z.looseObject({}),
      annotations: readOnly,
      async run(_args, { upstream }) {
        const info = await upstream.trainingInfo();
        const text = Object.entries(info)
          .map(
            ([key, value]) =>
              `${key.replace(/_/g, " ")}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`,
          )
          .join(", ");
        return answer(info, text || "The toolkit reported nothing.");
      },
    }),
  ];
}
