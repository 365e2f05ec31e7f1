import { z } from "zod";
import type { JobStatus } from "../../jobs/state";
import type { UiJob, UiJobStatus } from "./schemas";

/**
 * What a row of the UI's Job table says about a run, in the Worker's terms. The trainer writes
 * `step`, `status`, `info` and `speed_string` into the row itself (extensions_built_in/
 * sd_trainer/DiffusionTrainer.py); `total_steps` stays null for training jobs, so the total
 * comes from the job's config. Pure functions: the caller brings the row and the clock.
 */

/** The UI's states in the Worker's: winding down is still "running" (a stuck row is judged by stuckVerdict). */
const STATUS: Record<UiJobStatus, JobStatus> = {
  queued: "queued",
  running: "running",
  stopping: "running",
  stopped: "stopped",
  completed: "completed",
  error: "failed",
};

/** What the job is doing, read from the row's `info` phrase and status. */
export type UiPhase =
  | { kind: "queued" }
  | { kind: "starting" }
  | { kind: "loading_model" }
  | { kind: "loading_dataset" }
  | { kind: "training" }
  /** "Generating images - 2/4": image `done` of `total` is being made. */
  | { kind: "sampling"; done: number; total: number }
  | { kind: "saving" }
  | { kind: "stopping" }
  | { kind: "stopped" }
  | { kind: "completed" }
  /** `message` is the trainer's error (its `info` when the status is "error"). */
  | { kind: "error"; message: string }
  /** Any other phrase (model loaders report their own steps). */
  | { kind: "other" };

export interface UiJobFacts {
  status: JobStatus;
  uiStatus: UiJobStatus;
  phase: UiPhase;
  /** The row's `info` as the UI shows it. */
  info: string;
  step: number;
  totalSteps: number | null;
  /** 0-100; 100 once completed. */
  progress: number;
  /** Steps per second, from `speed_string`. */
  rate: number | null;
  secondsPerStep: number | null;
  /** At the current rate, while training. */
  remainingSeconds: number | null;
}

/** The parts of a job_config the Worker reads; anything else is kept but not checked. */
const jobConfigSchema = z.looseObject({
  config: z.looseObject({
    name: z.string().optional(),
    process: z.array(z.looseObject({ train: z.looseObject({ steps: z.number().optional() }).optional() })).optional(),
  }),
});
export type UiJobConfig = z.infer<typeof jobConfigSchema>;

/** The row's `job_config` (a JSON string), or undefined when it is not a config the Worker can read. */
export function parseJobConfig(row: Pick<UiJob, "job_config">): UiJobConfig | undefined {
  try {
    const parsed = jobConfigSchema.safeParse(JSON.parse(row.job_config));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function jobFacts(row: UiJob, config: UiJobConfig | undefined = parseJobConfig(row)): UiJobFacts {
  const totalSteps = row.total_steps ?? config?.config.process?.[0]?.train?.steps ?? null;
  const speed = parseSpeed(row.speed_string);
  const phase = phaseOf(row);
  const progress =
    row.status === "completed"
      ? 100
      : totalSteps && totalSteps > 0
        ? Math.min(100, Math.max(0, Math.round((row.step / totalSteps) * 1000) / 10))
        : 0;
  const active = row.status === "running" && speed !== undefined && totalSteps !== null;
  return {
    status: STATUS[row.status],
    uiStatus: row.status,
    phase,
    info: row.info,
    step: row.step,
    totalSteps,
    progress,
    rate: speed?.rate ?? null,
    secondsPerStep: speed?.secondsPerStep ?? null,
    remainingSeconds: active ? Math.max(0, Math.round((totalSteps - row.step) * speed.secondsPerStep)) : null,
  };
}

export function phaseOf(row: Pick<UiJob, "status" | "info" | "stop">): UiPhase {
  switch (row.status) {
    case "queued":
      return { kind: "queued" };
    case "stopping":
      return { kind: "stopping" };
    case "stopped":
      return { kind: "stopped" };
    case "completed":
      return { kind: "completed" };
    case "error":
      return {
        kind: "error",
        message: row.info.trim() || "the trainer stopped with an error and gave no message: read the job's log",
      };
    case "running":
      // The UI shows a running job whose stop flag is set as stopping.
      return row.stop ? { kind: "stopping" } : runningPhase(row.info.trim());
  }
}

function runningPhase(info: string): UiPhase {
  const sampling = /^Generating images - (\d+)\/(\d+)$/.exec(info);
  if (sampling) return { kind: "sampling", done: Number(sampling[1]), total: Number(sampling[2]) };
  if (/^Starting/i.test(info)) return { kind: "starting" };
  if (/^Loading model/i.test(info)) return { kind: "loading_model" };
  if (/^Loading dataset/i.test(info)) return { kind: "loading_dataset" };
  if (/^Saving model/i.test(info)) return { kind: "saving" };
  if (/^Stopping/i.test(info)) return { kind: "stopping" };
  if (/^Training completed/i.test(info)) return { kind: "completed" };
  if (/^Training$/i.test(info)) return { kind: "training" };
  return { kind: "other" };
}

/**
 * The trainer's speed: "9.69 iter/sec" at one step per second or faster, "2.31 sec/iter" below
 * (tqdm's "it/s" and "s/it" forms are read too). Undefined for an empty or unknown string.
 */
export function parseSpeed(text: string): { rate: number; secondsPerStep: number } | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(iter\/sec|iters?\/s|it\/s|sec\/iter|s\/iter|s\/it)\s*$/i.exec(text);
  const value = match ? Number(match[1]) : NaN;
  if (!match || !(value > 0)) return undefined;
  const perSecond = /^it/i.test(match[2] ?? "");
  return perSecond ? { rate: value, secondsPerStep: 1 / value } : { rate: 1 / value, secondsPerStep: value };
}

/** Where a queued job stands among the queued jobs of its GPU(s). */
export interface UiQueuePlace {
  /** 1 = next to run. */
  position: number;
  queued: number;
  /** The job that holds the GPU(s) now, if any. */
  runningJob: string | null;
}

/** The place of `job` in its queue, from the UI's job list; null when it is not queued. */
export function queuePlace(job: Pick<UiJob, "id" | "status" | "gpu_ids">, jobs: readonly UiJob[]): UiQueuePlace | null {
  if (job.status !== "queued") return null;
  const sameGpus = jobs.filter((other) => other.gpu_ids === job.gpu_ids);
  // The queue worker starts the queued job with the lowest queue_position.
  const queued = sameGpus
    .filter((other) => other.status === "queued")
    .sort((a, b) => a.queue_position - b.queue_position);
  const index = queued.findIndex((other) => other.id === job.id);
  const running = sameGpus.find((other) => other.status === "running" || other.status === "stopping");
  return {
    position: index === -1 ? queued.length + 1 : index + 1,
    queued: Math.max(queued.length, index + 1),
    runningJob: running?.name ?? null,
  };
}

/**
 * The last time a running row moved. `updated_at` changes only on the UI's own writes, so
 * movement is what the caller saw change between two reads: step, status, info or speed.
 */
export interface UiMovement {
  fingerprint: string;
  step: number;
  /** Epoch ms when the fingerprint last changed (or the UI last wrote the row). */
  movedAt: number;
}

export function observeMovement(previous: UiMovement | undefined, row: UiJob, now: number): UiMovement {
  const fingerprint = JSON.stringify([row.status, row.step, row.info, row.speed_string]);
  const written = Date.parse(row.updated_at);
  const movedAt = previous && previous.fingerprint === fingerprint ? previous.movedAt : now;
  return {
    fingerprint,
    step: row.step,
    movedAt: Number.isFinite(written) ? Math.max(movedAt, Math.min(written, now)) : movedAt,
  };
}

export type UiStuckVerdict = { stuck: false } | { stuck: true; stillForMs: number; message: string };

/**
 * Whether a row the database calls running has stopped moving for longer than `thresholdMs`
 * (the caller's choice: loading a big model or sampling video legitimately takes minutes). A
 * trainer that died without writing its end leaves such a row, and it blocks its GPU's queue.
 */
export function stuckVerdict(
  row: UiJob,
  movement: UiMovement,
  options: { now: number; thresholdMs: number },
): UiStuckVerdict {
  if (row.status !== "running" && row.status !== "stopping") return { stuck: false };
  const stillForMs = options.now - movement.movedAt;
  if (stillForMs <= options.thresholdMs) return { stuck: false };
  const minutes = Math.round(stillForMs / 60_000);
  return {
    stuck: true,
    stillForMs,
    message:
      `ai-toolkit's UI says job ${row.name} is ${row.status}, but its step (${row.step}), phase ` +
      `("${row.info}") and speed have not changed for ` +
      (`${minutes < 1 ? "under a minute" : `${minutes} min`}: the trainer may have died or hung. Read the ` +
        `job's log; if its process is gone, `) +
      `mark the job stopped (the UI's "Mark as stopped") to free the queue of GPU ${row.gpu_ids}`,
  };
}
