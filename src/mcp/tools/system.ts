import { z } from "zod";
import { readOnly, type ToolGroup } from "../context";
import { guarded, ok } from "../result";

/** get_system_stats, get_training_info: what the GPU box is doing. */
export const systemTools: ToolGroup = (server, { toolkit }) => {
  server.registerTool(
    "get_system_stats",
    {
      title: "System stats",
      description: "CPU, memory, disk and GPU usage of the toolkit's machine.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "System stats" },
    },
    () =>
      guarded(async () => {
        const stats = await toolkit.run("get_system_stats");
        const gpu = (stats.gpu ?? {}) as Record<string, unknown>;
        const gpuText = gpu.cuda_available
          ? `GPU ${String(gpu.device_name ?? "?")}: ${String(gpu.memory_allocated ?? "?")} GB allocated, ${String(gpu.memory_reserved ?? "?")} GB reserved`
          : "no CUDA GPU available";
        const text = `CPU ${String(stats.cpu_percent ?? "?")}%, memory ${String(stats.memory_percent ?? "?")}%, disk ${String(stats.disk_usage ?? "?")}%, ${gpuText}.`;
        return ok(stats, text);
      }),
  );

  server.registerTool(
    "get_training_info",
    {
      title: "Training overview",
      description: "Counts of jobs, active jobs, configurations, datasets and models on the toolkit.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "Training overview" },
    },
    () =>
      guarded(async () => {
        const info = await toolkit.run("get_training_info");
        const text = Object.entries(info)
          .map(([key, value]) => `${key.replace(/_/g, " ")}: ${typeof value === "object" ? JSON.stringify(value) : String(value)}`)
          .join(", ");
        return ok(info, text || "The toolkit reported nothing.");
      }),
  );
};
