import { z } from "zod";
import { isTerminal } from "../../jobs/state";
import { capitalize } from "../../common";
import { trainingJobFor, type JobLookup } from "../../jobs/training-job";
import { describeJob, type JobView } from "../../jobs/view";
import { jobId } from "../fields";
import { readOnly, type ToolGroup } from "../context";
import { failure, guarded, ok } from "../result";

/** The longest wait_for_training may block: MCP clients and proxies give up on a silent minute. */
const MAX_WAIT_SECONDS = 50;
/** How often a wait re-reads the job; the job's own freshness window bounds the toolkit calls. */
const WAIT_TICK_MS = 2_000;

/** get_training_metrics, wait_for_training: following a run without polling by hand. */
export const trainingProgressTools: ToolGroup = (server, { env }) => {
  server.registerTool(
    "get_training_metrics",
    {
      title: "Training metrics",
      description:
        "The loss history of a training job, per loss term, downsampled to at most `points` points (each the mean of its stretch of steps), with the minimum, the last value and the trend of each term. Served from the Worker's records: works after the job ended and while the toolkit is down.",
      inputSchema: z.object({
        job_id: jobId,
        points: z
          .number()
          .int("points must be a whole number")
          .min(2, "points must be at least 2")
          .max(1000, "points must be at most 1000")
          .default(100)
          .describe("Most points to return per loss term (the history is averaged down to this many)"),
      }),
      annotations: { ...readOnly, title: "Training metrics" },
    },
    ({ job_id, points }) =>
      guarded(async () => {
        const metrics = await trainingJobFor(env, job_id).metrics(points);
        if (!metrics) return failure(`The Worker has no record of job ${job_id}: call get_training_status first to look it up on the toolkit.`, { kind: "not_found", job_id });
        const summaries = Object.entries(metrics.series.summary).map(
          ([term, s]) => `${term}: last ${s.last.toPrecision(4)}, min ${s.min.toPrecision(4)} at step ${s.min_step}, ${s.trend}`,
        );
        const text = summaries.length
          ? `Job ${job_id}: ${metrics.series.points.length} points from ${metrics.stored_points} recorded.\n${summaries.join("\n")}`
          : `Job ${job_id} has no loss values recorded yet (${metrics.job.status}).`;
        return ok(
          {
            job_id,
            status: metrics.job.status,
            terms: metrics.series.terms,
            points: metrics.series.points,
            summary: metrics.series.summary,
            stored_points: metrics.stored_points,
            stored_stride: metrics.stored_stride,
          },
          text,
        );
      }),
  );

  server.registerTool(
    "wait_for_training",
    {
      title: "Wait for training",
      description: `Wait up to ${MAX_WAIT_SECONDS} s until a training job reaches a step, a progress percentage, or ends (completed, failed, stopped, lost), then return its status. Sends progress notifications (step / total) when the request carries a progress token. Call again to keep waiting.`,
      inputSchema: z.object({
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
      annotations: { ...readOnly, title: "Wait for training" },
    },
    ({ job_id, until_step, until_progress, timeout_seconds }, ctx) =>
      guarded(async () => {
        const stub = trainingJobFor(env, job_id);
        const started = Date.now();
        const deadline = started + timeout_seconds * 1000;
        const token = ctx.mcpReq._meta?.progressToken;
        let lastReported = -1;
        let view: JobView;
        for (;;) {
          // A poll stuck on a slow toolkit must not hold the wait past its deadline: then the
          // stored state answers.
          const remaining = Math.max(0, deadline - Date.now());
          const lookup = await beforeDeadline(
            (async (): Promise<JobLookup> => await stub.status(job_id))(),
            remaining,
            async () => await stub.status(job_id, { storedOnly: true }),
          );
          if (!lookup.found) return failure(capitalize(lookup.reason), { kind: "not_found", job_id });
          view = lookup.job;
          if (token !== undefined && view.current_step > lastReported) {
            lastReported = view.current_step;
            await ctx.mcpReq
              .notify({
                method: "notifications/progress",
                params: {
                  progressToken: token,
                  progress: view.current_step,
                  ...(view.total_steps === null ? {} : { total: view.total_steps }),
                  message: describeJob(view),
                },
              })
              .catch(() => undefined);
          }
          const reached = reason(view, until_step, until_progress);
          if (reached || Date.now() + WAIT_TICK_MS > deadline || ctx.mcpReq.signal.aborted) {
            const waited = Math.round((Date.now() - started) / 100) / 10;
            const outcome = reached ? `Reached: ${reached}.` : `Still waiting after ${waited} s: call wait_for_training again to keep waiting.`;
            return ok({ ...view, reached: reached !== undefined, reached_reason: reached ?? null, waited_seconds: waited }, `${outcome} ${describeJob(view)}`);
          }
          await sleep(WAIT_TICK_MS);
        }
      }),
  );
};

/** Why a wait is over, or undefined while it is not. */
function reason(view: JobView, untilStep: number | undefined, untilProgress: number | undefined): string | undefined {
  if (isTerminal(view.status)) return `the job ended (${view.status})`;
  if (untilStep !== undefined && view.current_step >= untilStep) return `step ${view.current_step} >= ${untilStep}`;
  if (untilProgress !== undefined && view.progress >= untilProgress) return `progress ${view.progress}% >= ${untilProgress}%`;
  return undefined;
}

const TIMED_OUT = Symbol("timed out");

/**
 * The work's answer (or failure) if it comes within `ms`, else the fallback's. Either way the
 * timer is cleared; a late work is left to finish, and a failure it ends with is dropped.
 */
export async function beforeDeadline<T>(work: Promise<T>, ms: number, fallback: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    const winner = await Promise.race([work, deadline]);
    if (winner !== TIMED_OUT) return winner;
  } finally {
    clearTimeout(timer);
  }
  work.catch(() => undefined);
  return fallback();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
