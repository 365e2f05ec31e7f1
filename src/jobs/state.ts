import { z } from "zod";
import type { LossPoint, Observation, RunCursor } from "./observation";
import { applyReport } from "./report";
import { exceptionLine, findTraceback, latestUpdate, splitLog, tqdmUpdates, trainingBar, type BarFilter } from "./tqdm";

/**
 * The life of one training job as the Worker records it, and the pure rules that move it
 * forward from what the toolkit answers. No I/O here: the TrainingJob Durable Object feeds
 * observations in and stores what comes out, so every transition is testable on its own.
 */

/**
 * What a user can act on. "queued": waiting for its GPU behind other jobs (ai-toolkit's UI);
 * "stuck": the upstream says running but nothing has moved for long (the trainer may have died);
 * "lost": the toolkit restarted and forgot the job, or stayed unreachable so long that the
 * Worker stopped polling it; the last known state is kept.
 */
export const jobStatusSchema = z.enum([
  "queued",
  "starting",
  "running",
  "stuck",
  "completed",
  "failed",
  "stopped",
  "lost",
]);
export type JobStatus = z.infer<typeof jobStatusSchema>;

export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "stopped", "lost"];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/** How long the run should take, and whether that is measured or a guess. */
export const estimateSchema = z.object({
  seconds: z.number(),
  secondsPerStep: z.number(),
  steps: z.number(),
  /** "history": from earlier runs of the same base model; "guess": a rule of thumb. */
  basis: z.enum(["history", "guess"]),
  note: z.string(),
});
export type Estimate = z.infer<typeof estimateSchema>;

/** The config name of a job whose config the toolkit did not say. */
export const UNKNOWN_CONFIG = "unknown";

export type { LossPoint, Observation, RunCursor, RunReport } from "./observation";

export interface JobRecord {
  jobId: string;
  config: string;
  /** The `name` inside the config, when it was read: ai-toolkit labels the training bar with it. */
  jobName?: string;
  status: JobStatus;
  createdAt: number;
  baseModel?: string;
  estimate?: Estimate;
  step: number;
  totalSteps?: number;
  /** 0-100, from step/total when the log shows tqdm, else the toolkit's own figure. */
  progress: number;
  /** Steps per second as tqdm last showed it. */
  rate?: number;
  elapsedSeconds?: number;
  remainingSeconds?: number;
  lr?: number;
  losses: Record<string, number>;
  /** When the toolkit last answered about this job (the age of everything above). */
  lastContactAt?: number;
  /** When the Worker last asked, answered or not. */
  lastPolledAt?: number;
  unreachableSince?: number;
  unreachableError?: string;
  /** When the Worker stopped polling because the toolkit stayed unreachable (the job is then "lost"). */
  gaveUpAt?: number;
  /** Consecutive polls that could not reach the toolkit (drives the back-off). */
  failedPolls: number;
  toolkitStatus?: string;
  finishedAt?: number;
  /** Why a job failed or was lost, in words, and the traceback excerpt when the log had one. */
  reason?: string;
  traceback?: string;
  stoppedBy?: string;
  stoppedAt?: number;
  /** Lines of the toolkit's log already seen (its total_lines at the last poll). */
  logLinesSeen: number;
  /** Where the upstream's last observation left off (see RunCursor); handed back at the next poll. */
  cursor?: RunCursor;
  /** What the trainer is doing, in a few words (upstreams with a report only). */
  phase?: string;
  /** 1-based place in its GPU's queue while "queued". */
  queuePosition?: number;
  /** While "stuck": what that means and how to clear it. */
  stuck?: string;
}

export interface PollOutcome {
  record: JobRecord;
  /** Log segments not seen before, oldest first (for the stored tail). */
  newSegments: string[];
  /** Loss points new at this poll, oldest first (for the history). */
  updates: LossPoint[];
}

export function newRecord(init: {
  jobId: string;
  config: string;
  createdAt: number;
  jobName?: string;
  baseModel?: string;
  totalSteps?: number;
  estimate?: Estimate;
  /** Set when the upstream answered the start with the job waiting in its GPU's queue. */
  queuePosition?: number;
}): JobRecord {
  return {
    jobId: init.jobId,
    config: init.config,
    ...(init.jobName === undefined ? {} : { jobName: init.jobName }),
    // A job the start left waiting behind another is "queued" from the first answer on, not
    // "starting" until the first poll finds out.
    ...(init.queuePosition === undefined
      ? { status: "starting" as const }
      : { status: "queued" as const, queuePosition: init.queuePosition }),
    createdAt: init.createdAt,
    ...(init.baseModel === undefined ? {} : { baseModel: init.baseModel }),
    ...(init.totalSteps === undefined ? {} : { totalSteps: init.totalSteps }),
    ...(init.estimate === undefined ? {} : { estimate: init.estimate }),
    step: 0,
    progress: 0,
    losses: {},
    failedPolls: 0,
    logLinesSeen: 0,
  };
}

/**
 * A record made before the start was recorded (the job was adopted from the toolkit's list
 * while start_training was still under way), completed with what the start knows. What was
 * observed stays; what only the start knows fills the gaps.
 */
export function withStart(record: JobRecord, start: Parameters<typeof newRecord>[0]): JobRecord {
  const merged: JobRecord = { ...record, createdAt: Math.min(record.createdAt, start.createdAt) };
  if (merged.config === UNKNOWN_CONFIG) merged.config = start.config;
  if (merged.jobName === undefined && start.jobName !== undefined) merged.jobName = start.jobName;
  if (merged.baseModel === undefined && start.baseModel !== undefined) merged.baseModel = start.baseModel;
  if (merged.totalSteps === undefined && start.totalSteps !== undefined) merged.totalSteps = start.totalSteps;
  if (merged.estimate === undefined && start.estimate !== undefined) merged.estimate = start.estimate;
  return merged;
}

export interface ObservationRules {
  /** How long the toolkit may stay unreachable before a live job is given up as "lost". */
  giveUpAfterMs?: number;
}

export function applyObservation(
  previous: JobRecord,
  observation: Observation,
  now: number,
  rules: ObservationRules = {},
): PollOutcome {
  const record: JobRecord = { ...previous, lastPolledAt: now };
  if (observation.kind === "unreachable") {
    const since = (record.unreachableSince ??= now);
    record.unreachableError = observation.message;
    record.failedPolls += 1;
    if (!isTerminal(record.status) && rules.giveUpAfterMs !== undefined && now - since >= rules.giveUpAfterMs)
      giveUp(record, since, now);
    return { record, newSegments: [], updates: [] };
  }
  record.lastContactAt = now;
  if (observation.kind === "answer" && observation.cursor !== undefined) record.cursor = observation.cursor;
  delete record.unreachableSince;
  delete record.unreachableError;
  record.failedPolls = 0;
  if (record.gaveUpAt !== undefined) {
    // The toolkit answers again after the Worker gave up: the job is judged afresh from here.
    record.status = record.step > 0 ? "running" : "starting";
    delete record.gaveUpAt;
    delete record.finishedAt;
    delete record.reason;
  }

  if (observation.kind === "not_found") {
    if (!isTerminal(record.status)) {
      record.status = "lost";
      record.finishedAt = now;
      record.reason =
        'the toolkit no longer knows this job (it answers "Job not found"): it was restarted, which ends ' +
        "its runs. Everything last known is kept here; start the training again to resume work.";
    }
    return { record, newSegments: [], updates: [] };
  }

  if (observation.report !== undefined) {
    // The upstream tracks the run itself: its report is the truth, its log only new lines.
    const newSegments = splitLog(observation.logs);
    record.toolkitStatus = observation.status;
    record.progress = observation.progress;
    applyReport(record, observation.report, newSegments, isTerminal(record.status), now);
    return { record, newSegments, updates: [...observation.report.history] };
  }

  const allSegments = splitLog(observation.logs);
  const fresh = freshLines(observation.logs, observation.totalLines, previous.logLinesSeen);
  const newSegments = splitLog(fresh);
  if (observation.totalLines !== undefined) record.logLinesSeen = observation.totalLines;

  // Only the training bar moves the step: a finished "Loading checkpoint shards 3/3" bar must
  // not make a run that dies right after it look complete.
  const isTraining = trainingBarOf(record);
  const latest = latestUpdate(allSegments, isTraining);
  if (latest && latest.step >= record.step) {
    record.step = latest.step;
    record.totalSteps = latest.total;
    record.elapsedSeconds = latest.elapsedSeconds;
    if (latest.remainingSeconds === undefined) delete record.remainingSeconds;
    else record.remainingSeconds = latest.remainingSeconds;
    if (latest.rate !== undefined) record.rate = latest.rate;
    if (latest.lr !== undefined) record.lr = latest.lr;
    if (Object.keys(latest.losses).length > 0) record.losses = latest.losses;
  }
  record.progress =
    record.totalSteps && record.totalSteps > 0 ? round1((100 * record.step) / record.totalSteps) : observation.progress;
  record.toolkitStatus = observation.status;

  if (!isTerminal(record.status)) settle(record, observation.status, findTraceback(allSegments), now);
  return {
    record,
    newSegments,
    updates: tqdmUpdates(newSegments, isTraining).filter((u) => Object.keys(u.losses).length > 0),
  };
}

/** Which of the log's progress bars is this job's training bar (see trainingBar). */
export function trainingBarOf(record: JobRecord): BarFilter {
  const config = record.config === UNKNOWN_CONFIG ? undefined : record.config;
  return trainingBar([config, record.jobName], record.totalSteps);
}

/** Stops following a job whose toolkit has been unreachable too long; what is known stays. */
function giveUp(record: JobRecord, since: number, now: number): void {
  record.status = "lost";
  record.gaveUpAt = now;
  record.finishedAt = now;
  const hours = Math.round((now - since) / 360_000) / 10;
  record.reason =
    `the toolkit has been unreachable since ${new Date(since).toISOString()} (${hours} h), so the Worker ` +
    `stopped polling this job. Everything last known is kept here; get_training_status asks the toolkit ` +
    `again, and following resumes if it answers`;
}

/** Moves a live job to the state the toolkit's answer and the log imply. */
function settle(record: JobRecord, toolkitStatus: string, traceback: string | undefined, now: number): void {
  if (traceback !== undefined) {
    record.status = "failed";
    record.traceback = traceback;
    record.reason = `the trainer crashed at step ${record.step}: ${exceptionLine(traceback)}`;
    record.finishedAt = now;
    return;
  }
  if (toolkitStatus === "stopped") {
    record.status = "stopped";
    record.finishedAt = now;
    record.stoppedAt ??= now;
    return;
  }
  if (toolkitStatus === "completed") {
    // The toolkit says "completed" whenever the process exits, whatever its exit code.
    const total = record.totalSteps;
    if (record.stoppedAt !== undefined) record.status = "stopped";
    else if (total === undefined || record.step === 0) {
      record.status = "failed";
      record.reason = "the training process ended before logging any training step: see get_training_logs";
    } else if (record.step < total) {
      record.status = "failed";
      record.reason =
        `the training process ended at step ${record.step} of ${total}, before the last step: see ` +
        `get_training_logs`;
    } else record.status = "completed";
    record.finishedAt = now;
    return;
  }
  record.status = record.step > 0 ? "running" : "starting";
}

/**
 * The toolkit's log lines not seen at the previous poll. `total_lines` counts the whole log, so
 * the tail's last (total - seen) lines are new; without it (or after the log shrank) all are.
 */
export function freshLines(logs: readonly string[], totalLines: number | undefined, seen: number): readonly string[] {
  if (totalLines === undefined || totalLines < seen) return logs;
  const count = Math.min(logs.length, totalLines - seen);
  return count <= 0 ? [] : logs.slice(logs.length - count);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
