import type { AuthInfo } from "@modelcontextprotocol/server";
import { z } from "zod";
import { capitalize, plural } from "../../common";
import { indexEntrySchema } from "../../jobs/job-index";
import { listJobs, readLogs, startJob, stopJob } from "../../jobs/service";
import { estimateSchema, jobStatusSchema } from "../../jobs/state";
import { trainingJobFor } from "../../jobs/training-job";
import { describeJob, formatDuration, jobViewSchema } from "../../jobs/view";
import { dashboardToolMeta } from "../../dashboard";
import { lossSparklinePng } from "../../jobs/charts";
import { chartTheme, jobId, safeName } from "../fields";
import { additiveWrite, answer, defineTool, destructiveWrite, readOnly, UserError, type DefinedTool } from "../tool";

/**
 * start_training, get_training_status, stop_training, list_training_jobs, get_training_logs:
 * a job's life from start to end. Jobs are answered from their TrainingJob Durable Object
 * (src/jobs/), which keeps the state the toolkit forgets on restart and reads the progress
 * the toolkit does not report.
 */
export function trainingJobTools(): DefinedTool[] {
  return [
    defineTool({
      name: "start_training",
      title: "Start training",
      description:
        "Start training a LoRA from a saved configuration. Returns the job id, its status and an estimated " +
        "duration (from earlier runs of the same base model, or labelled a guess). Follow it with " +
        "get_training_status or wait_for_training.",
      input: z.object({ config_name: safeName("config_name").describe("Name of a configuration from list_configs") }),
      output: startedOutput,
      annotations: additiveWrite,
      async run({ config_name }, { env, upstream }) {
        const { job, pid, estimate, queuePosition, note } = await startJob(env, upstream, config_name);
        const estimateText = estimate
          ? ` Estimated time: ${estimate.note}.`
          : " No estimate: the config's step count could not be read.";
        return answer(
          {
            job_id: job.job_id,
            status: job.status,
            config: config_name,
            pid,
            queue_position: queuePosition,
            estimated_time: estimate ? formatDuration(estimate.seconds) : null,
            estimated_seconds: estimate?.seconds ?? null,
            estimate_is_guess: estimate ? estimate.basis === "guess" : null,
            estimate,
          },
          `Started training "${config_name}" as job ${job.job_id} (${job.status}).${note ? ` ${note}` : ""}` +
            estimateText,
        );
      },
    }),

    defineTool({
      name: "get_training_status",
      title: "Training status",
      description:
        "Status of a training job: starting, running, completed, failed (with the traceback excerpt), " +
        "stopped or lost (the toolkit restarted, or stayed unreachable so long that the Worker stopped " +
        "polling; the last known state is kept, and a lost-while-unreachable job is asked about again on " +
        "each call). Includes step, total steps, progress, loss terms, rate, elapsed and remaining time, " +
        "and how fresh the answer is. Works while the toolkit is unreachable (last known state, with its " +
        "age).",
      input: z.object({
        job_id: jobId,
        include_chart: z
          .boolean()
          .default(false)
          .describe("Add a small PNG sparkline of the main loss term over the steps"),
        chart_theme: chartTheme,
      }),
      output: jobViewSchema,
      annotations: readOnly,
      meta: dashboardToolMeta,
      async run({ job_id, include_chart, chart_theme }, { env }) {
        const stub = trainingJobFor(env, job_id);
        const lookup = await stub.status(job_id);
        if (!lookup.found) throw new UserError(capitalize(lookup.reason), { kind: "not_found", job_id });
        const stored = include_chart ? await stub.lossHistory() : null;
        return answer(lookup.job, describeJob(lookup.job), [
          stored ? lossSparklinePng(stored.history, chart_theme) : undefined,
        ]);
      },
    }),

    defineTool({
      name: "stop_training",
      title: "Stop training",
      description:
        "Stop a running training job. The partial run cannot be resumed. Records who stopped it and when; " +
        "stopping a job that has already ended changes nothing and says so.",
      input: z.object({ job_id: jobId }),
      output: stopOutput,
      annotations: destructiveWrite,
      async run({ job_id }, { env, upstream, call }) {
        const outcome = await stopJob(env, upstream, job_id, stoppedBy(call.http?.authInfo));
        if (!outcome.stopped) {
          const view = outcome.job;
          if (outcome.raced)
            return answer(
              { ...view, stopped: false },
              `Job ${job_id} had already ended (${view.status}); nothing was stopped.`,
            );
          const when = view.finished_at ? ` at ${view.finished_at}` : "";
          return answer(
            { ...view, stopped: false },
            `Job ${job_id} had already ended (${view.status}${when}); nothing was ` +
              `stopped.${view.stopped_by ? ` It was stopped by ${view.stopped_by} at ${view.stopped_at}.` : ""}`,
          );
        }
        if (!outcome.job)
          return answer({ job_id, stopped: true as const, stopped_by: outcome.by }, `Stopped job ${job_id}.`);
        return answer(
          { ...outcome.job, stopped: true },
          `Stopped job ${job_id} (${outcome.by}). ${describeJob(outcome.job)}`,
        );
      },
    }),

    defineTool({
      name: "list_training_jobs",
      title: "List training jobs",
      description:
        "List training jobs with status and progress, newest first. Answers from the Worker's records, so " +
        "it works while the toolkit is down or after it restarted and forgot its jobs.",
      input: z.object({}),
      output: jobListOutput,
      annotations: readOnly,
      async run(_args, { env, upstream }) {
        const list = await listJobs(env, upstream);
        const lines = list.jobs.map((job) => {
          const steps = job.total_steps ? `, step ${job.current_step}/${job.total_steps} (${job.progress}%)` : "";
          return (
            `- ${job.job_id} (${job.config}): ${job.status}${steps}, started ` +
            `${new Date(job.started_at).toISOString()}`
          );
        });
        const head = lines.length ? `${plural(lines.length, "job")}:\n${lines.join("\n")}` : "No training jobs.";
        return answer(
          {
            jobs: list.jobs.map((job) => ({
              ...job,
              started_at: new Date(job.started_at).toISOString(),
              updated_at: new Date(job.updated_at).toISOString(),
            })),
            toolkit_reachable: list.toolkit_reachable,
            notice: list.notice,
          },
          list.notice ? `${head}\n(${capitalize(list.notice)}.)` : head,
        );
      },
    }),

    defineTool({
      name: "get_training_logs",
      title: "Training logs",
      description:
        "The last lines of a training job's log. When the toolkit cannot answer (unreachable, or restarted " +
        "and forgot the job), the tail the Worker stored while the job ran is returned instead, and the " +
        "answer says so.",
      input: z.object({
        job_id: jobId,
        lines: z
          .number()
          .int("lines must be a whole number")
          .min(1, "lines must be at least 1")
          .max(5000, "lines must be at most 5000")
          .default(100)
          .describe("How many of the newest log lines to return"),
      }),
      output: logsOutput,
      annotations: readOnly,
      async run({ job_id, lines }, { env, upstream }) {
        const logs = await readLogs(env, upstream, job_id, lines);
        if (logs.source === "toolkit") {
          const text = logs.result.logs.length
            ? logs.result.logs.join("").trimEnd()
            : `No log lines for job ${job_id}.`;
          return answer({ ...logs.result, source: "toolkit" as const }, text);
        }
        const notice =
          `${capitalize(logs.problem)}: these are the ${logs.lines.length} newest lines the Worker stored ` +
          `(consecutive progress-bar updates collapsed into the newest).`;
        return answer(
          {
            job_id,
            logs: logs.lines.map((line) => `${line}\n`),
            total_lines: logs.stored,
            source: "stored" as const,
            notice,
          },
          `${notice}\n${logs.lines.join("\n")}`,
        );
      },
    }),
  ];
}

const startedOutput = z.object({
  job_id: z.string(),
  status: jobStatusSchema,
  config: z.string(),
  pid: z.number().nullable(),
  /** 1-based place in the GPU queue when the job waits behind others; null when it runs or the upstream has no queue. */
  queue_position: z.number().nullable(),
  /** The estimate in words ("12 min"), its seconds, and whether it is a rule of thumb. */
  estimated_time: z.string().nullable(),
  estimated_seconds: z.number().nullable(),
  estimate_is_guess: z.boolean().nullable(),
  estimate: estimateSchema.nullable(),
});

const stopOutput = z.union([
  jobViewSchema.extend({ stopped: z.boolean() }),
  // Stopped on the toolkit, but the Worker has no record of the job to show.
  z.object({ job_id: z.string(), stopped: z.literal(true), stopped_by: z.string() }),
]);

const jobListOutput = z.object({
  // Times as ISO 8601 here; the index keeps milliseconds.
  jobs: z.array(indexEntrySchema.extend({ started_at: z.string(), updated_at: z.string() })),
  toolkit_reachable: z.boolean(),
  notice: z.string().nullable(),
});

/** Loose: the toolkit's answer is relayed as it is, with whatever fields it adds. */
const logsOutput = z.looseObject({
  job_id: z.string(),
  logs: z.array(z.string()),
  total_lines: z.number().optional(),
  source: z.enum(["toolkit", "stored"]),
  notice: z.string().optional(),
});

/** Who stopped a job, as far as the token says: the owner, through which OAuth client. */
function stoppedBy(authInfo: AuthInfo | undefined): string {
  const props = authInfo?.extra?.props as { userId?: unknown } | undefined;
  const user = typeof props?.userId === "string" ? props.userId : "owner";
  return authInfo?.clientId ? `${user} (OAuth client ${authInfo.clientId})` : user;
}
