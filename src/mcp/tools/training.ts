import { z } from "zod";
import { getMcpAuthContext } from "agents/mcp/server";
import { listJobs, startJob } from "../../jobs/service";
import { trainingJobFor } from "../../jobs/training-job";
import { describeJob, formatDuration } from "../../jobs/view";
import { isTerminal } from "../../jobs/state";
import { ToolkitError } from "../../toolkit/errors";
import { capitalize, plural } from "../../common";
import { jobId, safeName } from "../fields";
import { additiveWrite, readOnly, type ToolGroup } from "../context";
import { failure, guarded, ok } from "../result";

/**
 * start_training, get_training_status, stop_training, list_training_jobs, get_training_logs.
 * Jobs are answered from their TrainingJob Durable Object (src/jobs/), which keeps the state
 * the toolkit forgets on restart and reads the progress the toolkit does not report.
 */
export const trainingTools: ToolGroup = (server, { toolkit, env }) => {
  server.registerTool(
    "start_training",
    {
      title: "Start training",
      description:
        "Start training a LoRA from a saved configuration. Returns the job id, its status and an estimated duration (from earlier runs of the same base model, or labelled a guess). Follow it with get_training_status or wait_for_training.",
      inputSchema: z.object({ config_name: safeName("config_name").describe("Name of a configuration from list_configs") }),
      annotations: { ...additiveWrite, title: "Start training" },
    },
    ({ config_name }) =>
      guarded(async () => {
        const { job, pid, estimate } = await startJob(env, toolkit, config_name);
        const estimateText = estimate ? ` Estimated time: ${estimate.note}.` : " No estimate: the config's step count could not be read.";
        return ok(
          {
            job_id: job.job_id,
            status: job.status,
            config: config_name,
            pid,
            estimated_time: estimate ? formatDuration(estimate.seconds) : null,
            estimated_seconds: estimate?.seconds ?? null,
            estimate_is_guess: estimate ? estimate.basis === "guess" : null,
            estimate,
          },
          `Started training "${config_name}" as job ${job.job_id} (${job.status}).${estimateText}`,
        );
      }),
  );

  server.registerTool(
    "get_training_status",
    {
      title: "Training status",
      description:
        "Status of a training job: starting, running, completed, failed (with the traceback excerpt), stopped or lost (the toolkit restarted, or stayed unreachable so long that the Worker stopped polling; the last known state is kept, and a lost-while-unreachable job is asked about again on each call). Includes step, total steps, progress, loss terms, rate, elapsed and remaining time, and how fresh the answer is. Works while the toolkit is unreachable (last known state, with its age).",
      inputSchema: z.object({ job_id: jobId }),
      annotations: { ...readOnly, title: "Training status" },
    },
    ({ job_id }) =>
      guarded(async () => {
        const lookup = await trainingJobFor(env, job_id).status(job_id);
        if (!lookup.found) return failure(capitalize(lookup.reason), { kind: "not_found", job_id });
        return ok({ ...lookup.job }, describeJob(lookup.job));
      }),
  );

  server.registerTool(
    "stop_training",
    {
      title: "Stop training",
      description:
        "Stop a running training job. The partial run cannot be resumed. Records who stopped it and when; stopping a job that has already ended changes nothing and says so.",
      inputSchema: z.object({ job_id: jobId }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false, title: "Stop training" },
    },
    ({ job_id }, ctx) =>
      guarded(async () => {
        const stub = trainingJobFor(env, job_id);
        const before = await stub.status(job_id, { maxAgeMs: 0 });
        if (before.found && isTerminal(before.job.status)) {
          const view = before.job;
          const when = view.finished_at ? ` at ${view.finished_at}` : "";
          return ok(
            { ...view, stopped: false },
            `Job ${job_id} had already ended (${view.status}${when}); nothing was stopped.${view.stopped_by ? ` It was stopped by ${view.stopped_by} at ${view.stopped_at}.` : ""}`,
          );
        }
        try {
          await toolkit.run("stop_training", { job_id });
        } catch (error) {
          // "Job not found or already stopped": the job may have ended a moment ago.
          if (!(error instanceof ToolkitError) || error.kind !== "tool") throw error;
          const after = await stub.status(job_id, { maxAgeMs: 0 });
          if (after.found && isTerminal(after.job.status)) {
            return ok({ ...after.job, stopped: false }, `Job ${job_id} had already ended (${after.job.status}); nothing was stopped.`);
          }
          throw error;
        }
        const who = stoppedBy(ctx.http?.authInfo?.clientId);
        const after = await stub.markStopped(who, Date.now());
        if (!after.found) return ok({ job_id, stopped: true, stopped_by: who }, `Stopped job ${job_id}.`);
        return ok({ ...after.job, stopped: true }, `Stopped job ${job_id} (${who}). ${describeJob(after.job)}`);
      }),
  );

  server.registerTool(
    "list_training_jobs",
    {
      title: "List training jobs",
      description:
        "List training jobs with status and progress, newest first. Answers from the Worker's records, so it works while the toolkit is down or after it restarted and forgot its jobs.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "List training jobs" },
    },
    () =>
      guarded(async () => {
        const list = await listJobs(env, toolkit);
        const lines = list.jobs.map((job) => {
          const steps = job.total_steps ? `, step ${job.current_step}/${job.total_steps} (${job.progress}%)` : "";
          return `- ${job.job_id} (${job.config}): ${job.status}${steps}, started ${new Date(job.started_at).toISOString()}`;
        });
        const head = lines.length ? `${plural(lines.length, "job")}:\n${lines.join("\n")}` : "No training jobs.";
        return ok(
          {
            jobs: list.jobs.map((job) => ({ ...job, started_at: new Date(job.started_at).toISOString(), updated_at: new Date(job.updated_at).toISOString() })),
            toolkit_reachable: list.toolkit_reachable,
            notice: list.notice,
          },
          list.notice ? `${head}\n(${capitalize(list.notice)}.)` : head,
        );
      }),
  );

  server.registerTool(
    "get_training_logs",
    {
      title: "Training logs",
      description:
        "The last lines of a training job's log. When the toolkit cannot answer (unreachable, or restarted and forgot the job), the tail the Worker stored while the job ran is returned instead, and the answer says so.",
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
        const stored = await trainingJobFor(env, job_id).storedLogs(lines);
        let problem: string;
        try {
          const result = await toolkit.run("get_training_logs", { job_id, lines });
          if (result.logs.length > 0 || stored.lines.length === 0) {
            const text = result.logs.length ? result.logs.join("").trimEnd() : `No log lines for job ${job_id}.`;
            return ok({ ...result, source: "toolkit" }, text);
          }
          problem = "the toolkit has no log for this job any more (it restarted)";
        } catch (error) {
          if (!(error instanceof ToolkitError) || stored.lines.length === 0) throw error;
          problem = error.message;
        }
        const notice = `${capitalize(problem)}: these are the ${stored.lines.length} newest lines the Worker stored (consecutive progress-bar updates collapsed into the newest).`;
        return ok(
          { job_id, logs: stored.lines.map((line) => `${line}\n`), total_lines: stored.stored, source: "stored", notice },
          `${notice}\n${stored.lines.join("\n")}`,
        );
      }),
  );
};

/** Who stopped a job, as far as the token says: the owner, through which OAuth client. */
function stoppedBy(clientId: string | undefined): string {
  const props = getMcpAuthContext()?.props;
  const user = typeof props?.userId === "string" ? props.userId : "owner";
  return clientId ? `${user} (OAuth client ${clientId})` : user;
}
