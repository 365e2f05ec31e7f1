import { DurableObject } from "cloudflare:workers";
import { z } from "zod";
import { jobStatusSchema, type JobStatus } from "./state";

/** One line of list_training_jobs, kept current by each TrainingJob after every poll. */
export const indexEntrySchema = z.object({
  job_id: z.string(),
  config: z.string(),
  status: jobStatusSchema,
  current_step: z.number(),
  total_steps: z.number().nullable(),
  progress: z.number(),
  base_model: z.string().nullable(),
  /** Milliseconds since the epoch. */
  started_at: z.number(),
  updated_at: z.number(),
});
export type IndexEntry = z.infer<typeof indexEntrySchema>;

/** How long earlier runs of a base model took per step. */
export interface RunSpeed {
  secondsPerStep: number;
  runs: number;
}

type IndexRow = Omit<IndexEntry, "status"> & { status: string };

/**
 * Every job the Worker has seen on one toolkit (one object per toolkit target), so
 * list_training_jobs answers even when the toolkit is down or has forgotten its jobs after a
 * restart. It also remembers the speed of finished runs per base model, which is what
 * start_training's estimated_time is made of.
 */
export class JobIndex extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ctx.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS jobs (
        job_id TEXT PRIMARY KEY, config TEXT NOT NULL, status TEXT NOT NULL,
        current_step INTEGER NOT NULL, total_steps INTEGER, progress REAL NOT NULL,
        base_model TEXT, started_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS jobs_by_start ON jobs (started_at);
      CREATE TABLE IF NOT EXISTS runs (
        job_id TEXT PRIMARY KEY, base_model TEXT NOT NULL, steps INTEGER NOT NULL,
        seconds_per_step REAL NOT NULL, finished_at INTEGER NOT NULL
      );
    `);
  }

  upsert(entry: IndexEntry): void {
    this.ctx.storage.sql.exec(
      `INSERT INTO jobs (job_id, config, status, current_step, total_steps, progress, ` +
        `base_model, started_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET status = excluded.status, current_step = excluded.current_step,
         total_steps = excluded.total_steps, progress = excluded.progress,
         base_model = COALESCE(excluded.base_model, jobs.base_model), updated_at = excluded.updated_at`,
      entry.job_id,
      entry.config,
      entry.status,
      entry.current_step,
      entry.total_steps,
      entry.progress,
      entry.base_model,
      entry.started_at,
      entry.updated_at,
    );
  }

  /** The newest jobs first. */
  list(limit = 100): IndexEntry[] {
    return this.ctx.storage.sql
      .exec<IndexRow>("SELECT * FROM jobs ORDER BY started_at DESC LIMIT ?", limit)
      .toArray()
      .map((row) => ({ ...row, status: row.status as JobStatus }));
  }

  has(jobId: string): boolean {
    return this.ctx.storage.sql.exec("SELECT 1 FROM jobs WHERE job_id = ?", jobId).toArray().length > 0;
  }

  /** A finished run's speed, for estimating the next run of the same base model. */
  recordRun(jobId: string, baseModel: string, steps: number, secondsPerStep: number, finishedAt: number): void {
    if (!(secondsPerStep > 0) || steps <= 0) return;
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO runs (job_id, base_model, steps, seconds_per_step, finished_at) VALUES (?, ?, ?, ?, ?)",
      jobId,
      baseModel,
      steps,
      secondsPerStep,
      finishedAt,
    );
  }

  /** The median speed of the five newest finished runs of this base model, if any. */
  speedOf(baseModel: string): RunSpeed | null {
    const speeds = this.ctx.storage.sql
      .exec<{ seconds_per_step: number }>(
        "SELECT seconds_per_step FROM runs WHERE base_model = ? ORDER BY finished_at DESC LIMIT 5",
        baseModel,
      )
      .toArray()
      .map((row) => row.seconds_per_step)
      .sort((a, b) => a - b);
    if (speeds.length === 0) return null;
    const middle = Math.floor(speeds.length / 2);
    const median =
      speeds.length % 2 === 1 ? (speeds[middle] ?? 0) : ((speeds[middle - 1] ?? 0) + (speeds[middle] ?? 0)) / 2;
    return { secondsPerStep: median, runs: speeds.length };
  }
}

/** The index of the toolkit the Worker is configured for (named by its transport target). */
export function jobIndexFor(env: Env, target: string): DurableObjectStub<JobIndex> {
  return env.JOB_INDEX.get(env.JOB_INDEX.idFromName(target));
}
