import { z } from "zod";
import { capitalize } from "../../common";
import { metricsSeriesSchema } from "../../jobs/metrics";
import { waitForJob } from "../../jobs/service";
import { jobStatusSchema } from "../../jobs/state";
import { trainingJobFor } from "../../jobs/training-job";
import { describeJob, jobViewSchema, type JobView } from "../../jobs/view";
import { dashboardToolMeta } from "../../dashboard";
import { lossChartPng } from "../../jobs/charts";
import { chartTheme, jobId } from "../fields";
import { answer, defineTool, readOnly, UserError, type DefinedTool } from "../tool";

/** The longest wait_for_training may block: MCP clients and proxies give up on a silent minute. */
const MAX_WAIT_SECONDS = 50;

/** get_training_metrics, wait_for_training, show_training_dashboard: following a run without polling by hand. */
export function trainingProgressTools(): DefinedTool[] {
  return [
    defineTool({
      name: "get_training_metrics",
      title: "Training metrics",
      description:
        "The loss history of a training job, per loss term, downsampled to at most `points` points (each " +
        "the mean of its stretch of steps), with the minimum, the last value and the trend of each term. " +
        "Served from the Worker's records: works after the job ended and while the toolkit is down.",
      input: z.object({
        job_id: jobId,
        points: z
          .number()
          .int("points must be a whole number")
          .min(2, "points must be at least 2")
          .max(1000, "points must be at most 1000")
          .default(100)
          .describe("Most points to return per loss term (the history is averaged down to this many)"),
        chart: z
          .boolean()
          .default(true)
          .describe(
            "Add a PNG chart of every loss term over the steps (raw values faint, smoothed line strong, " +
              "current step marked), about 800x400",
          ),
        chart_theme: chartTheme,
      }),
      output: metricsOutput,
      annotations: readOnly,
      async run({ job_id, points, chart, chart_theme }, { env }) {
        const stub = trainingJobFor(env, job_id);
        const [metrics, stored] = await Promise.all([stub.metrics(points), chart ? stub.lossHistory() : null]);
        if (!metrics)
          throw new UserError(
            `The Worker has no record of job ${job_id}: call get_training_status first to look it up on the toolkit.`,
            { kind: "not_found", job_id },
          );
        const summaries = Object.entries(metrics.series.summary).map(
          ([term, s]) =>
            `${term}: last ${s.last.toPrecision(4)}, min ${s.min.toPrecision(4)} at step ${s.min_step}, ${s.trend}`,
        );
        const text = summaries.length
          ? `Job ${job_id}: ${metrics.series.points.length} points from ${metrics.stored_points} ` +
            `recorded.\n${summaries.join("\n")}`
          : `Job ${job_id} has no loss values recorded yet (${metrics.job.status}).`;
        return answer(
          {
            job_id,
            status: metrics.job.status,
            ...metrics.series,
            stored_points: metrics.stored_points,
            stored_stride: metrics.stored_stride,
          },
          text,
          [stored ? lossChartPng(stored.job, stored.history, chart_theme) : undefined],
        );
      },
    }),

    defineTool({
      name: "wait_for_training",
      title: "Wait for training",
      description:
        `Wait up to ${MAX_WAIT_SECONDS} s until a training job reaches a step, a progress percentage, or ` +
        `ends (completed, failed, stopped, lost), then return its status. Sends progress notifications (step ` +
        `/ total) when the request carries a progress token. Call again to keep waiting.`,
      input: z.object({
        job_id: jobId,
        until_step: z
          .number()
          .int("until_step must be a whole number")
          .min(1, "until_step must be at least 1")
          .optional()
          .describe("Return once the job has reached this step"),
        until_progress: z
          .number()
          .min(0, "until_progress must be at least 0")
          .max(100, "until_progress must be at most 100")
          .optional()
          .describe("Return once the job's progress (0-100) has reached this percentage"),
        timeout_seconds: z
          .number()
          .int("timeout_seconds must be a whole number")
          .min(1, "timeout_seconds must be at least 1")
          .max(MAX_WAIT_SECONDS, `timeout_seconds must be at most ${MAX_WAIT_SECONDS}`)
          .default(MAX_WAIT_SECONDS)
          .describe("Longest time to wait, in seconds; the job ending always ends the wait"),
      }),
      output: waitOutput,
      annotations: readOnly,
      meta: dashboardToolMeta,
      async run({ job_id, until_step, until_progress, timeout_seconds }, { env, call }) {
        const token = call.mcpReq._meta?.progressToken;
        const onUpdate =
          token === undefined
            ? undefined
            : async (job: JobView) => {
                const total = job.total_steps === null ? {} : { total: job.total_steps };
                await call.mcpReq
                  .notify({
                    method: "notifications/progress",
                    params: { progressToken: token, progress: job.current_step, ...total, message: describeJob(job) },
                  })
                  .catch(() => undefined);
              };
        const goal = {
          timeoutSeconds: timeout_seconds,
          ...(until_step === undefined ? {} : { untilStep: until_step }),
          ...(until_progress === undefined ? {} : { untilProgress: until_progress }),
        };
        const outcome = await waitForJob(env, job_id, goal, {
          signal: call.mcpReq.signal,
          ...(onUpdate ? { onUpdate } : {}),
        });
        if (!outcome.found) throw new UserError(capitalize(outcome.reason), { kind: "not_found", job_id });
        const { job, reached, waitedSeconds } = outcome;
        const summary = reached
          ? `Reached: ${reached}.`
          : `Still waiting after ${waitedSeconds} s: call wait_for_training again to keep waiting.`;
        return answer(
          { ...job, reached: reached !== undefined, reached_reason: reached ?? null, waited_seconds: waitedSeconds },
          `${summary} ${describeJob(job)}`,
        );
      },
    }),

    defineTool({
      name: "show_training_dashboard",
      title: "Training dashboard",
      description:
        "Open the live dashboard of a training job: phase, progress with ETA, an interactive loss chart, " +
        "the newest samples and the GPU, refreshing itself while the job runs, with a Stop button. Clients " +
        "that show MCP Apps (Claude web and desktop) render it beside the answer; every other client gets " +
        "the same facts as text and a loss chart.",
      input: z.object({ job_id: jobId, chart_theme: chartTheme }),
      output: jobViewSchema,
      annotations: readOnly,
      meta: dashboardToolMeta,
      async run({ job_id, chart_theme }, { env }) {
        const stub = trainingJobFor(env, job_id);
        const lookup = await stub.status(job_id);
        if (!lookup.found) throw new UserError(capitalize(lookup.reason), { kind: "not_found", job_id });
        const stored = await stub.lossHistory();
        return answer(lookup.job, `Dashboard of job ${job_id}. ${describeJob(lookup.job)}`, [
          stored ? lossChartPng(lookup.job, stored.history, chart_theme) : undefined,
        ]);
      },
    }),
  ];
}

const metricsOutput = metricsSeriesSchema.extend({
  job_id: z.string(),
  status: jobStatusSchema,
  stored_points: z.number(),
  /** Steps between two stored points (1 until the history had to be thinned). */
  stored_stride: z.number(),
});

const waitOutput = jobViewSchema.extend({
  reached: z.boolean(),
  reached_reason: z.string().nullable(),
  waited_seconds: z.number(),
});
