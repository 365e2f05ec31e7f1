import { z } from "zod";
import { estimateSchema, isTerminal, jobStatusSchema, type JobRecord } from "./state";
import { capitalize } from "../common";

/**
 * What callers see of a job: the fields the original README promised for get_training_status
 * (status, progress, current_step, total_steps, loss, estimated_time_remaining) plus rate,
 * elapsed time, the time of the last update and how fresh all of it is. The schema is the
 * tools' published output and the type below.
 */
export const jobViewSchema = z.object({
  job_id: z.string(),
  config: z.string(),
  status: jobStatusSchema,
  /** What the trainer is doing, in a few words ("loading model", "2nd in line on GPU 0"); null when not reported. */
  phase: z.string().nullable(),
  /** 1-based place in its GPU's queue while queued. */
  queue_position: z.number().nullable(),
  /** While stuck: what that means and how to clear it. */
  stuck: z.string().nullable(),
  progress: z.number(),
  current_step: z.number(),
  total_steps: z.number().nullable(),
  /** The main loss term ("loss" when present), null before the first one is logged. */
  loss: z.number().nullable(),
  losses: z.record(z.string(), z.number()),
  learning_rate: z.number().nullable(),
  estimated_time_remaining: z.number().nullable(),
  /** Steps per second. */
  rate: z.number().nullable(),
  elapsed_seconds: z.number().nullable(),
  started_at: z.string(),
  last_update: z.string().nullable(),
  /** Seconds since the toolkit last answered about this job. */
  age_seconds: z.number().nullable(),
  /**
   * "live": just asked; "recent": within the freshness window; "stale": the toolkit could not be asked; "final": the
   * job is over.
   */
  freshness: z.enum(["live", "recent", "stale", "final"]),
  toolkit_reachable: z.boolean(),
  notice: z.string().nullable(),
  reason: z.string().nullable(),
  traceback: z.string().nullable(),
  stopped_by: z.string().nullable(),
  stopped_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  estimated_time: estimateSchema.nullable(),
});
export type JobView = z.infer<typeof jobViewSchema>;

export function viewOf(record: JobRecord, now: number, options: { live: boolean; freshMs: number }): JobView {
  const age = record.lastContactAt === undefined ? null : Math.max(0, Math.round((now - record.lastContactAt) / 1000));
  const reachable = record.unreachableSince === undefined;
  const recent = record.lastContactAt !== undefined && now - record.lastContactAt <= options.freshMs;
  const freshness: JobView["freshness"] = isTerminal(record.status)
    ? "final"
    : !reachable
      ? "stale"
      : options.live
        ? "live"
        : recent
          ? "recent"
          : "stale";
  return {
    job_id: record.jobId,
    config: record.config,
    status: record.status,
    phase: isTerminal(record.status) ? null : (record.phase ?? null),
    queue_position: record.status === "queued" ? (record.queuePosition ?? null) : null,
    stuck: record.status === "stuck" ? (record.stuck ?? null) : null,
    progress: record.progress,
    current_step: record.step,
    total_steps: record.totalSteps ?? null,
    loss: mainLoss(record.losses),
    losses: record.losses,
    learning_rate: record.lr ?? null,
    estimated_time_remaining: isTerminal(record.status) ? null : (record.remainingSeconds ?? null),
    rate: record.rate ?? null,
    elapsed_seconds: record.elapsedSeconds ?? null,
    started_at: iso(record.createdAt),
    last_update: record.lastContactAt === undefined ? null : iso(record.lastContactAt),
    age_seconds: age,
    freshness,
    toolkit_reachable: reachable,
    notice: noticeOf(record, age),
    reason: record.reason ?? null,
    traceback: record.traceback ?? null,
    stopped_by: record.stoppedBy ?? null,
    stopped_at: record.stoppedAt === undefined ? null : iso(record.stoppedAt),
    finished_at: record.finishedAt === undefined ? null : iso(record.finishedAt),
    estimated_time: record.estimate ?? null,
  };
}

function noticeOf(record: JobRecord, age: number | null): string | null {
  if (record.unreachableSince !== undefined) {
    const since = iso(record.unreachableSince);
    const known = age === null ? "nothing is known yet" : `this is the last known state, ${age} s old`;
    return `toolkit unreachable since ${since}: ${known}. ${record.unreachableError ?? ""}`.trim();
  }
  if (record.status === "lost") return `job lost: ${record.reason ?? "the toolkit forgot it"}`;
  if (record.status === "stuck") return `stuck: ${record.stuck ?? "the job has not moved for long"}`;
  return null;
}

export function mainLoss(losses: Record<string, number>): number | null {
  if (losses.loss !== undefined) return losses.loss;
  const first = Object.values(losses)[0];
  return first ?? null;
}

/**
 * One line for people: "running: loading model, step 450/1000 (45%), loss 0.391, 1.44 it/s, ~6 min
 * left", "queued, 2nd in line on GPU 0", "stuck, ... Stuck: <what to do>".
 */
export function describeJob(view: JobView): string {
  const parts = [`Job ${view.job_id} (${view.config}) is ${view.status}${phaseText(view)}`];
  if (view.total_steps !== null) parts.push(`step ${view.current_step}/${view.total_steps} (${view.progress}%)`);
  if (view.loss !== null) parts.push(`loss ${view.loss.toPrecision(4)}`);
  if (view.rate !== null && !isTerminal(view.status)) parts.push(formatRate(view.rate));
  if (view.estimated_time_remaining !== null) parts.push(`about ${formatDuration(view.estimated_time_remaining)} left`);
  let text = `${parts.join(", ")}.`;
  if (view.reason) text += ` ${capitalize(view.reason)}.`;
  if (view.stopped_by) text += ` Stopped by ${view.stopped_by} at ${view.stopped_at}.`;
  if (view.notice && view.status !== "lost") text += ` ${capitalize(view.notice)}`;
  if (view.traceback) text += `\n\nTraceback excerpt:\n${view.traceback}`;
  return text;
}

/** The phase after the status: "queued, 2nd in line on GPU 0", "running: loading model". */
function phaseText(view: JobView): string {
  if (view.phase === null || view.phase === "training" || view.status === "stuck") return "";
  return view.status === "queued" ? `, ${view.phase}` : `: ${view.phase}`;
}

export function formatRate(stepsPerSecond: number): string {
  return stepsPerSecond >= 1 ? `${stepsPerSecond.toFixed(2)} it/s` : `${(1 / stepsPerSecond).toFixed(2)} s/it`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
