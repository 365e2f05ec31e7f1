import { z } from "zod";
import { jobId, safeName } from "../fields";
import { additiveWrite, readOnly, type ToolGroup } from "../context";
import { guarded, ok, plural } from "../result";

/** start_training, get_training_status, stop_training, list_training_jobs, get_training_logs. */
export const trainingTools: ToolGroup = (server, { toolkit }) => {
  server.registerTool(
    "start_training",
    {
      title: "Start training",
      description: "Start training a LoRA from a saved configuration. Returns the job id to follow it with.",
      inputSchema: z.object({ config_name: safeName("config_name").describe("Name of a configuration from list_configs") }),
      annotations: { ...additiveWrite, title: "Start training" },
    },
    ({ config_name }) =>
      guarded(async () => {
        const result = await toolkit.run("start_training", { config_name });
        return ok(result, `Started training "${config_name}" as job ${result.job_id}.`);
      }),
  );

  server.registerTool(
    "get_training_status",
    {
      title: "Training status",
      description: "Status and progress of a training job.",
      inputSchema: z.object({ job_id: jobId }),
      annotations: { ...readOnly, title: "Training status" },
    },
    ({ job_id }) =>
      guarded(async () => {
        const result = await toolkit.run("get_training_status", { job_id });
        return ok(result, `Job ${job_id} is ${result.status} (${result.progress}%).`);
      }),
  );

  server.registerTool(
    "stop_training",
    {
      title: "Stop training",
      description: "Stop a running training job. The partial run cannot be resumed.",
      inputSchema: z.object({ job_id: jobId }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false, title: "Stop training" },
    },
    ({ job_id }) =>
      guarded(async () => {
        const result = await toolkit.run("stop_training", { job_id });
        return ok(result, `Stopped job ${job_id}.`);
      }),
  );

  server.registerTool(
    "list_training_jobs",
    {
      title: "List training jobs",
      description: "List the training jobs with their status.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "List training jobs" },
    },
    () =>
      guarded(async () => {
        const result = await toolkit.run("list_training_jobs");
        const lines = result.jobs.map((job) => `- ${job.job_id} (${job.config ?? "?"}): ${job.status}`);
        return ok(result, lines.length ? `${plural(lines.length, "job")}:\n${lines.join("\n")}` : "No training jobs.");
      }),
  );

  server.registerTool(
    "get_training_logs",
    {
      title: "Training logs",
      description: "The last lines of a training job's log.",
      inputSchema: z.object({
        job_id: jobId,
        lines: z
          .number()
          .int("lines must be a whole number")
          .min(1, "lines must be at least 1")
          .max(5000, "lines must be at most 5000")
          .default(100)
          .describe("How many of the newest log lines to return"),
      }),
      annotations: { ...readOnly, title: "Training logs" },
    },
    ({ job_id, lines }) =>
      guarded(async () => {
        const result = await toolkit.run("get_training_logs", { job_id, lines });
        const text = result.logs.length ? result.logs.join("").trimEnd() : `No log lines for job ${job_id}.`;
        return ok(result, text);
      }),
  );
};
