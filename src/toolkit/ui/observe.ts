import { errorMessage } from "../../common";
import type { LossPoint, Observation, RunCursor, RunReport } from "../../jobs/state";
import { latestUpdate, splitLog, trainingBar } from "../../jobs/tqdm";
import { ToolkitError } from "../errors";
import type { UiClient } from "./client";
import { UI } from "./failures";
import type { UiCallOptions } from "./http";
import { uiJobIdSchema } from "./names";
import { readLogTail, readNewLog, type LogRead } from "./observe-log";
import {
  jobFacts,
  observeMovement,
  phaseOf,
  queuePlace,
  stuckVerdict,
  type UiMovement,
  type UiQueuePlace,
} from "./progress";
import type { UiJob } from "./schemas";

/**
 * One poll of a job on ai-toolkit's UI for its TrainingJob record: the job's row (status, step,
 * phase, speed), its place in the queue, the loss points and log lines new since the previous
 * poll, and whether a "running" row has stopped moving. What was seen is kept in the cursor
 * (numbers only), so each poll asks only for what is new.
 */

/** A running row that has not moved for this long is called stuck (loading a big model takes minutes, not this). */
export const UI_STUCK_AFTER_MS = 20 * 60_000;
/** Loss points read per poll over all metrics; a long run is caught up by thinning (stride). */
export const LOSS_POINTS_PER_POLL = 2000;
/** Loss metrics read (a job's own code could log hundreds). */
const MAX_LOSS_KEYS = 8;
const LR_KEY = "learning_rate";
const TEXT_CHARS = 200;

/** The cursor's keys: where the log and the loss were read up to, and the row's last movement. */
const CURSOR = {
  log: "logOffset",
  loss: "lossStep",
  at: "polledAt",
  moveHash: "moveHash",
  moveStep: "moveStep",
  movedAt: "movedAt",
} as const;

export async function observeUiRun(
  client: UiClient,
  jobId: string,
  cursor: RunCursor | undefined,
  options: UiCallOptions,
  now = Date.now(),
): Promise<Observation> {
  // An id the UI cannot have names no job there (and must not reach a URL).
  if (!uiJobIdSchema.safeParse(jobId).success) return { kind: "not_found" };
  try {
    const row = await client.job(jobId, options);
    if (row === null) return { kind: "not_found" };
    return await observeRow(client, row, cursor ?? {}, options, now);
  } catch (error) {
    if (error instanceof ToolkitError) return { kind: "unreachable", message: error.message };
    return {
      kind: "unreachable",
      message: `${UI} could not be asked about job ${jobId} (${errorMessage(error)}): the next poll tries again`,
    };
  }
}

async function observeRow(
  client: UiClient,
  row: UiJob,
  cursor: RunCursor,
  options: UiCallOptions,
  now: number,
): Promise<Observation> {
  const facts = jobFacts(row);
  const next: RunCursor = { [CURSOR.at]: now };
  let place: UiQueuePlace | null = null;
  let loss: LossRead = { losses: {}, history: [] };
  let log: LogRead | undefined;
  let logTail: string[] | undefined;
  if (row.status === "queued") {
    place = queuePlace(row, await client.jobs({}, options));
    // Nothing runs while queued: what was read stays read.
    copy(cursor, next, CURSOR.log, CURSOR.loss);
  } else {
    loss = await readLoss(client, row, cursor[CURSOR.loss], options);
    if (loss.step !== undefined) next[CURSOR.loss] = loss.step;
    log = await readNewLog(client, row.id, cursor[CURSOR.log], cursor[CURSOR.at], options, now);
    if (log.offset !== undefined) next[CURSOR.log] = log.offset;
    if (row.status === "error") logTail = await readLogTail(client, row.id, log, options);
  }

  // New log bytes or loss points are movement too: a trainer loading a model draws its own bars.
  const seen = observeMovement(previousMovement(cursor, row, now), row, now);
  const movement = log?.grew || loss.history.length > 0 ? { ...seen, movedAt: now } : seen;
  Object.assign(next, {
    [CURSOR.moveHash]: hash(movement.fingerprint),
    [CURSOR.moveStep]: movement.step,
    [CURSOR.movedAt]: movement.movedAt,
  });
  const verdict = stuckVerdict(row, movement, { now, thresholdMs: UI_STUCK_AFTER_MS });
  const phase = phaseOf(row);

  const report: RunReport = {
    status: row.status,
    step: row.step,
    totalSteps: facts.totalSteps ?? undefined,
    rate: facts.rate ?? undefined,
    remainingSeconds: facts.remainingSeconds ?? undefined,
    // The row has no start time; the trainer's own bar, named after the job, says how long it has run.
    elapsedSeconds: log
      ? latestUpdate(splitLog(log.lines), trainingBar([row.name], facts.totalSteps ?? undefined))?.elapsedSeconds
      : undefined,
    phase: phaseWords(row, place),
    queuePosition: place?.position,
    error: phase.kind === "error" ? clip(phase.message, 1000) : undefined,
    stuck: verdict.stuck ? `${verdict.message}; or call stop_training for this job` : undefined,
    lr: loss.lr,
    losses: loss.losses,
    history: loss.history,
    logTail,
  };
  return {
    kind: "answer",
    status: row.status,
    progress: facts.progress,
    config: row.name,
    logs: log?.lines ?? [],
    report,
    cursor: next,
  };
}

interface LossRead {
  /** Where the next poll reads from (the newest step read); undefined: nothing read yet. */
  step?: number;
  losses: Record<string, number>;
  lr?: number;
  history: LossPoint[];
}

/**
 * Points of every loss metric (and the learning rate) after step `since`, at most
 * LOSS_POINTS_PER_POLL in all. When more steps than that have passed (the first poll of a long
 * run, or after a long outage), only every `stride`-th step is read, so one poll reaches the
 * newest values; the stored history is thinned to a bounded size anyway.
 */
async function readLoss(
  client: UiClient,
  row: UiJob,
  since: number | undefined,
  options: UiCallOptions,
): Promise<LossRead> {
  const keys = await client.lossKeys(row.id, options);
  const lossKeys = keys.filter((key) => key.includes("loss")).slice(0, MAX_LOSS_KEYS);
  const wanted = keys.includes(LR_KEY) ? [...lossKeys, LR_KEY] : lossKeys;
  if (wanted.length === 0) return { ...(since === undefined ? {} : { step: since }), losses: {}, history: [] };
  const limit = Math.max(1, Math.floor(LOSS_POINTS_PER_POLL / wanted.length));
  const stride = Math.max(1, Math.ceil((row.step - (since ?? 0)) / limit));
  const answers = await Promise.all(
    wanted.map((key) =>
      client.loss(row.id, { key, limit, stride, ...(since === undefined ? {} : { sinceStep: since }) }, options),
    ),
  );
  // A metric that filled its limit may have more points: every metric is cut at the lowest such
  // step, so the steps read are complete for all of them and the next poll goes on from there.
  let cutoff = Infinity;
  for (const answer of answers) {
    const last = answer.points[answer.points.length - 1];
    if (answer.points.length >= limit && last) cutoff = Math.min(cutoff, last.step);
  }
  const byStep = new Map<number, LossPoint>();
  const read: LossRead = { losses: {}, history: [] };
  let newest = since;
  answers.forEach((answer, i) => {
    const key = wanted[i] ?? "";
    for (const point of answer.points) {
      if (point.step > cutoff) break;
      newest = Math.max(newest ?? point.step, point.step);
      if (point.value === null || !Number.isFinite(point.value)) continue;
      if (key === LR_KEY) {
        read.lr = point.value;
        continue;
      }
      const term = termName(key);
      read.losses[term] = point.value;
      const entry = byStep.get(point.step) ?? { step: point.step, losses: {} };
      entry.losses[term] = point.value;
      byStep.set(point.step, entry);
    }
  });
  read.history = [...byStep.values()].sort((a, b) => a.step - b.step);
  if (newest !== undefined) read.step = newest;
  return read;
}

/** "loss/loss" → "loss", "loss/diff_loss" → "diff_loss": the names the bridge's tqdm postfix uses. */
function termName(key: string): string {
  return key.startsWith("loss/") && key.length > 5 ? key.slice(5) : key;
}

/** The movement the cursor remembers, when the row still looks as it did then. */
function previousMovement(cursor: RunCursor, row: UiJob, now: number): UiMovement | undefined {
  const current = observeMovement(undefined, row, now).fingerprint;
  const movedAt = cursor[CURSOR.movedAt];
  if (cursor[CURSOR.moveHash] !== hash(current) || movedAt === undefined) return undefined;
  return { fingerprint: current, step: cursor[CURSOR.moveStep] ?? row.step, movedAt };
}

/** What the job is doing, in a few words ("2nd in line on GPU 0", "loading model", "sampling 2/4"). */
function phaseWords(row: UiJob, place: UiQueuePlace | null): string | undefined {
  const phase = phaseOf(row);
  switch (phase.kind) {
    case "queued": {
      const gpu = clip(row.gpu_ids, 40);
      if (!place) return `waiting on GPU ${gpu}`;
      const holder = place.runningJob === null ? "" : ` (${clip(place.runningJob, TEXT_CHARS)} is running there)`;
      return `${ordinal(place.position)} in line on GPU ${gpu}${holder}`;
    }
    case "loading_model":
      return "loading model";
    case "loading_dataset":
      return "loading dataset";
    case "sampling":
      return `sampling ${phase.done}/${phase.total}`;
    case "starting":
    case "training":
    case "saving":
    case "stopping":
      return phase.kind;
    case "other":
      return clip(row.info.trim(), TEXT_CHARS) || undefined;
    case "stopped":
    case "completed":
    case "error":
      return undefined;
  }
}

/** 1st, 2nd, 3rd, 4th... 11th, 12th, 13th, 21st. */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : (["th", "st", "nd", "rd"][n % 10] ?? "th");
  return `${n}${suffix}`;
}

function copy(from: RunCursor, to: RunCursor, ...keys: string[]): void {
  for (const key of keys) if (from[key] !== undefined) to[key] = from[key];
}

/** FNV-1a: a row's fingerprint as a number, since a cursor holds only numbers. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function clip(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}
