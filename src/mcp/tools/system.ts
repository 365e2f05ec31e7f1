import { z } from "zod";
import { capitalize } from "../../common";
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
        // Each upstream reports what its machine can tell: a reading it lacks is left out, not shown as "?".
        const known = (value: unknown) => value !== undefined && value !== null;
        const gpuParts = [
          known(gpu.memory_allocated) ? `${String(gpu.memory_allocated)} GB allocated` : undefined,
          known(gpu.memory_reserved) ? `${String(gpu.memory_reserved)} GB reserved` : undefined,
        ].filter((part) => part !== undefined);
        const gpuText = gpu.cuda_available
          ? `GPU ${String(gpu.device_name ?? "?")}${gpuParts.length ? `: ${gpuParts.join(", ")}` : ""}`
          : "no CUDA GPU available";
        const parts = [
          known(stats.cpu_percent) ? `CPU ${String(stats.cpu_percent)}%` : undefined,
          known(stats.memory_percent) ? `memory ${String(stats.memory_percent)}%` : undefined,
          known(stats.disk_usage) ? `disk ${String(stats.disk_usage)}%` : undefined,
          gpuText,
        ].filter((part) => part !== undefined);
        const text = `${capitalize(parts.join(", "))}.`;
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
