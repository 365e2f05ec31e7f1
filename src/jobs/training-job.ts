import { DurableObject } from "cloudflare:workers";
import { readConfig, type Config } from "../config";
import { upstreamFor } from "../toolkit/select";
import type { Upstream } from "../toolkit/upstream";
import { forgetStaged } from "../models/staged";
import { jobIndexFor, type IndexEntry } from "./job-index";
import { JobStore } from "./job-store";
import { buildSeries, type HistoryPoint, type MetricsSeries } from "./metrics";
import {
  applyObservation,
  isTerminal,
  newRecord,
  UNKNOWN_CONFIG,
  withStart,
  type Estimate,
  type JobRecord,
  type Observation,
} from "./state";
import { nextPollDelay, type PollSettings } from "./poll-schedule";
import { viewOf, type JobView } from "./view";

/**
 * Longest wait for one poll request. Shorter than the general toolkit timeout: every status
 * caller waits on the poll in flight, and a hung toolkit must cost seconds, not minutes. Poll
 * requests are never retried (the next poll is the retry), and each upstream asks for the
 * rest (log, loss) only once the status has answered, so a hung toolkit costs one
 * POLL_TIMEOUT_MS per poll.
 */
const POLL_TIMEOUT_MS = 8_000;

export interface JobStart {
  jobId: string;
  config: string;
  startedAt: number;
  /** The `name` inside the config (the label of ai-toolkit's training bar), when it was read. */
  jobName?: string;
  baseModel?: string;
  totalSteps?: number;
  estimate?: Estimate;
  /** The job's 1-based place in its GPU's queue, when the start left it waiting there. */
  queuePosition?: number;
}

/** A job lookup: errors cannot cross RPC with their kind, so "not found" is an answer. */
export type JobLookup = { found: true; job: JobView } | { found: false; reason: string };

export interface JobMetrics {
  job: JobView;
  series: MetricsSeries;
  stored_points: number;
  /** Steps between two stored points (1 until the history had to be thinned). */
  stored_stride: number;
}

/**
 * The record of one training job (one object per job id, SQLite storage). It is where a job's
 * life is kept: while the job runs it polls the toolkit by alarm, reads the tqdm log, and keeps
 * status, loss history and log tail, so all of it outlives a toolkit restart or a dropped tunnel.
 */
export class TrainingJob extends DurableObject<Env> {
  /** How the toolkit is reached; tests put a scripted toolkit here. */
  upstream: Upstream;
  private readonly config: Config;
  private readonly store: JobStore;
  /** The poll in flight, shared by every caller: at most one toolkit poll per job at a time. */
  private polling: Promise<void> | undefined;
  private adopting: Promise<JobLookup> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = readConfig(env);
    this.upstream = upstreamFor(this.config, env);
    this.store = new JobStore(ctx.storage);
  }

  /** Records a job start_training has just started, and starts polling it. */
  async begin(start: JobStart): Promise<JobView> {
    const existing = await this.store.record();
    // A list_training_jobs call may have adopted the job between start_training and now: keep
    // what it observed and add what only the start knows (base model, planned steps, estimate).
    const record = existing
      ? withStart(existing, { ...start, createdAt: start.startedAt })
      : newRecord({ ...start, createdAt: start.startedAt });
    await this.store.save(record);
    await this.publish(record);
    await this.schedule(record, Date.now());
    return this.view(record, false);
  }

  /**
   * The job's state, asking the toolkit only when what is stored is older than `maxAgeMs`
   * (default TRAINING_STATUS_FRESH_MS). A job the Worker never saw start (started before it
   * was deployed, or by another client) is adopted if the toolkit knows it.
   */
  async status(jobId: string, options: { maxAgeMs?: number; storedOnly?: boolean } = {}): Promise<JobLookup> {
    const maxAge = options.maxAgeMs ?? this.config.TRAINING_STATUS_FRESH_MS;
    let record = await this.store.record();
    if (!record && options.storedOnly) return { found: false, reason: `the Worker has no record of job ${jobId} yet` };
    if (!record) {
      // Shared like a poll: concurrent first callers cost one look-up on the toolkit.
      this.adopting ??= this.adopt(jobId).finally(() => {
        this.adopting = undefined;
      });
      return this.adopting;
    }
    if (options.storedOnly) return { found: true, job: this.view(record, false) };
    const now = Date.now();
    const fresh = record.lastPolledAt !== undefined && now - record.lastPolledAt < maxAge;
    if ((isTerminal(record.status) && !gaveUp(record)) || fresh) return { found: true, job: this.view(record, false) };
    await this.refresh();
    record = (await this.store.record()) ?? record;
    return { found: true, job: this.view(record, true) };
  }

  /** Notes who stopped the job and when (the toolkit does not), then reads the outcome. */
  async markStopped(by: string, at: number): Promise<JobLookup> {
    const record = await this.store.record();
    if (!record) return { found: false, reason: "the Worker has no record of this job" };
    if (!isTerminal(record.status)) {
      await this.store.save({ ...record, stoppedBy: by, stoppedAt: at });
      await this.refresh();
    }
    const after = (await this.store.record()) ?? record;
    return { found: true, job: this.view(after, true) };
  }

  /** The newest `count` log lines stored while the job ran, and how many are stored. */
  storedLogs(count: number): { lines: string[]; stored: number } {
    return this.store.logs(count);
  }

  /** The whole stored loss history (bounded by TRAINING_HISTORY_MAX_POINTS), for charts. */
  async lossHistory(): Promise<{ job: JobView; history: HistoryPoint[] } | null> {
    const record = await this.store.record();
    if (!record) return null;
    return { job: this.view(record, false), history: this.store.history() };
  }

  async metrics(maxPoints: number): Promise<JobMetrics | null> {
    const record = await this.store.record();
    if (!record) return null;
    return {
      job: this.view(record, false),
      series: buildSeries(this.store.history(), maxPoints),
      stored_points: this.store.historyCount(),
      stored_stride: await this.store.historyStride(),
    };
  }

  override async alarm(): Promise<void> {
    await this.refresh();
  }

  private refresh(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const before = await this.store.record();
    // A job given up on is asked about only when someone asks for it (its alarm is gone).
    if (!before || (isTerminal(before.status) && !gaveUp(before))) return;
    const observation = await this.observe(before.jobId, before);
    const now = Date.now();
    // Re-read: markStopped may have written while the toolkit was being asked.
    const current = (await this.store.record()) ?? before;
    const { record, newSegments, updates } = applyObservation(current, observation, now, {
      giveUpAfterMs: this.config.TRAINING_GIVE_UP_AFTER_MS,
    });
    await this.store.save(record);
    this.store.addLogs(newSegments, this.config.TRAINING_LOG_TAIL_LINES);
    await this.store.addHistory(updates, now, this.config.TRAINING_HISTORY_MAX_POINTS);
    await this.publish(record, current.status !== record.status && record.status === "completed");
    if (isTerminal(record.status) && !isTerminal(current.status)) {
      // The run may have written a new model file under the same name: a staged copy of the
      // old one must not be handed out as unchanged.
      const names = [record.config, record.jobName].filter(
        (name): name is string => Boolean(name) && name !== UNKNOWN_CONFIG,
      );
      await forgetStaged(this.env.STAGING, names);
    }
    await this.schedule(record, now);
  }

  /** One poll of the upstream, from where the previous one left off. */
  private observe(jobId: string, record?: JobRecord): Promise<Observation> {
    const options = { timeoutMs: Math.min(POLL_TIMEOUT_MS, this.upstream.timeoutMs), retry: false };
    return this.upstream.observeRun(jobId, record?.cursor, options);
  }

  private async adopt(jobId: string): Promise<JobLookup> {
    const observation = await this.observe(jobId);
    if (observation.kind === "not_found")
      return {
        found: false,
        reason: `neither the Worker nor the toolkit knows a job ${jobId}: check the id with list_training_jobs`,
      };
    if (observation.kind === "unreachable") {
      return {
        found: false,
        reason: `the Worker has no record of job ${jobId} and could not ask the toolkit: ${observation.message}`,
      };
    }
    // begin() may have recorded the job while the toolkit was being asked: its record has the
    // start's details, so it wins over one made from the toolkit's answer alone.
    const existing = await this.store.record();
    if (existing) return { found: true, job: this.view(existing, false) };
    const now = Date.now();
    const config = observation.config ?? UNKNOWN_CONFIG;
    const { record, newSegments, updates } = applyObservation(
      newRecord({ jobId, config, createdAt: now }),
      observation,
      now,
    );
    await this.store.save(record);
    this.store.addLogs(newSegments, this.config.TRAINING_LOG_TAIL_LINES);
    await this.store.addHistory(updates, now, this.config.TRAINING_HISTORY_MAX_POINTS);
    await this.publish(record);
    await this.schedule(record, now);
    return { found: true, job: this.view(record, true) };
  }

  private async schedule(record: JobRecord, now: number): Promise<void> {
    const delay = nextPollDelay(record, now, this.pollSettings());
    if (delay === undefined) await this.ctx.storage.deleteAlarm();
    else await this.ctx.storage.setAlarm(now + delay);
  }

  /** Keeps the toolkit's job index current; a failure there must not stop the polling. */
  private async publish(record: JobRecord, finished = false): Promise<void> {
    const index = jobIndexFor(this.env, this.upstream.transport.target);
    const entry: IndexEntry = {
      job_id: record.jobId,
      config: record.config,
      status: record.status,
      current_step: record.step,
      total_steps: record.totalSteps ?? null,
      progress: record.progress,
      base_model: record.baseModel ?? null,
      started_at: record.createdAt,
      updated_at: record.lastContactAt ?? record.createdAt,
    };
    try {
      await index.upsert(entry);
      if (finished && record.baseModel && record.step > 0) {
        const secondsPerStep = record.elapsedSeconds
          ? record.elapsedSeconds / record.step
          : record.rate
            ? 1 / record.rate
            : 0;
        await index.recordRun(
          record.jobId,
          record.baseModel,
          record.step,
          secondsPerStep,
          record.finishedAt ?? Date.now(),
        );
      }
    } catch (error) {
      console.error("could not update the job index", error);
    }
  }

  private view(record: JobRecord, live: boolean): JobView {
    return viewOf(record, Date.now(), { live, freshMs: this.config.TRAINING_STATUS_FRESH_MS });
  }

  private pollSettings(): PollSettings {
    return {
      intervalMs: this.config.TRAINING_POLL_INTERVAL_MS,
      fastIntervalMs: this.config.TRAINING_POLL_FAST_MS,
      fastWindowMs: this.config.TRAINING_POLL_FAST_WINDOW_MS,
      maxBackoffMs: this.config.TRAINING_POLL_MAX_BACKOFF_MS,
    };
  }
}

/** Lost because the toolkit stayed unreachable, not because it forgot the job: worth asking again. */
function gaveUp(record: JobRecord): boolean {
  return record.status === "lost" && record.gaveUpAt !== undefined;
}

/** The Durable Object that records one job. */
export function trainingJobFor(env: Env, jobId: string): DurableObjectStub<TrainingJob> {
  return env.TRAINING_JOB.get(env.TRAINING_JOB.idFromName(jobId));
}
