// The UI's database, kept as one JSON file in the data folder instead of ai-toolkit's SQLite
// `aitk_db.db` (Prisma). Same three tables (Settings, Queue, Job), same columns, same JSON
// shapes on the wire, and it survives restarts like the real one.
//
// Two kinds of writer, as upstream: the API routes and the queue worker go through Prisma, whose
// `@updatedAt` bumps `updated_at` on every update (`update`); the trainer writes raw SQL, which
// leaves `updated_at` alone and silently matches no row once the job is deleted
// (`trainerUpdate`). Reads see every change at once; the file is rewritten at most every 20 ms
// (and by `flush()`, which closing the server calls).

import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

/** A Job row, field for field and in the order Prisma returns them. */
export interface JobRow {
  id: string;
  name: string;
  gpu_ids: string;
  /** A JSON string, as stored. */
  job_config: string;
  created_at: string;
  updated_at: string;
  status: string;
  stop: boolean;
  return_to_queue: boolean;
  step: number;
  total_steps: number | null;
  info: string;
  speed_string: string;
  queue_position: number;
  pid: number | null;
  job_type: string;
  job_ref: string | null;
  save_now: boolean;
  sample_now: boolean;
}

export interface QueueRow {
  id: number;
  gpu_ids: string;
  is_running: boolean;
}

/** A field left undefined is left as it is (see definedOnly). */
export type JobPatch = { [K in keyof Omit<JobRow, "id" | "created_at" | "updated_at">]?: JobRow[K] | undefined };

export interface NewJob {
  name: string;
  gpu_ids: string;
  job_config: string;
  queue_position: number;
  job_type?: string;
  job_ref?: string | null;
}

interface Tables {
  settings: Record<string, string>;
  queues: QueueRow[];
  jobs: JobRow[];
  nextQueueId: number;
  /** The simulated trainers' process ids, never reused across restarts. */
  nextPid: number;
}

/** Prisma's P2002: a unique constraint (Job.name, Queue.gpu_ids) would be violated. */
export class UniqueConstraintError extends Error {
  readonly code = "P2002";
}

/** Prisma's P2025: the record to update or delete does not exist. */
export class RecordNotFoundError extends Error {
  readonly code = "P2025";
}

const copy = <T>(row: T): T => ({ ...row });

export class Store {
  readonly file: string;
  private readonly tables: Tables;
  private timer: NodeJS.Timeout | undefined;

  private constructor(file: string, tables: Tables) {
    this.file = file;
    this.tables = tables;
  }

  /** Opens the store, creating it (with `seedSettings`) when the file does not exist yet. */
  static open(file: string, seedSettings: Record<string, string>): Store {
    if (existsSync(file)) {
      const tables = JSON.parse(readFileSync(file, "utf8")) as Tables;
      return new Store(file, tables);
    }
    mkdirSync(path.dirname(file), { recursive: true });
    const store = new Store(file, {
      settings: { ...seedSettings },
      queues: [],
      jobs: [],
      nextQueueId: 1,
      nextPid: 41000,
    });
    store.flush();
    return store;
  }

  // ---- settings ----

  settings(): Record<string, string> {
    return { ...this.tables.settings };
  }

  setSettings(values: Record<string, string>): void {
    Object.assign(this.tables.settings, values);
    this.changed();
  }

  // ---- jobs ----

  jobs(): JobRow[] {
    return this.tables.jobs.map(copy);
  }

  job(id: string): JobRow | null {
    const row = this.tables.jobs.find((job) => job.id === id);
    return row ? copy(row) : null;
  }

  maxQueuePosition(): number | null {
    if (this.tables.jobs.length === 0) return null;
    return Math.max(...this.tables.jobs.map((job) => job.queue_position));
  }

  createJob(data: NewJob): JobRow {
    if (this.tables.jobs.some((job) => job.name === data.name)) throw new UniqueConstraintError("Job.name");
    const now = new Date().toISOString();
    const row: JobRow = {
      id: randomUUID(),
      name: data.name,
      gpu_ids: data.gpu_ids,
      job_config: data.job_config,
      created_at: now,
      updated_at: now,
      status: "stopped",
      stop: false,
      return_to_queue: false,
      step: 0,
      total_steps: null,
      info: "",
      speed_string: "",
      queue_position: data.queue_position,
      pid: null,
      job_type: data.job_type ?? "train",
      job_ref: data.job_ref ?? null,
      save_now: false,
      sample_now: false,
    };
    this.tables.jobs.push(row);
    this.changed();
    return copy(row);
  }

  /** An update through Prisma: bumps `updated_at`; throws when the row is gone. */
  updateJob(id: string, patch: JobPatch): JobRow {
    const row = this.tables.jobs.find((job) => job.id === id);
    if (!row) throw new RecordNotFoundError(`Job ${id}`);
    if (patch.name !== undefined && this.tables.jobs.some((job) => job.id !== id && job.name === patch.name)) {
      throw new UniqueConstraintError("Job.name");
    }
    Object.assign(row, definedOnly(patch), { updated_at: new Date().toISOString() });
    this.changed();
    return copy(row);
  }

  /** Prisma's updateMany with a status condition: how many rows changed (0 or 1). */
  updateJobIfStatus(id: string, status: string, patch: JobPatch): number {
    const row = this.tables.jobs.find((job) => job.id === id && job.status === status);
    if (!row) return 0;
    Object.assign(row, definedOnly(patch), { updated_at: new Date().toISOString() });
    this.changed();
    return 1;
  }

  /** A raw SQL update from the trainer: no `updated_at`, nothing happens when the row is gone. */
  trainerUpdate(id: string, patch: JobPatch): void {
    const row = this.tables.jobs.find((job) => job.id === id);
    if (!row) return;
    Object.assign(row, definedOnly(patch));
    this.changed();
  }

  deleteJob(id: string): JobRow {
    const index = this.tables.jobs.findIndex((job) => job.id === id);
    const [row] = index === -1 ? [] : this.tables.jobs.splice(index, 1);
    if (!row) throw new RecordNotFoundError(`Job ${id}`);
    this.changed();
    return row;
  }

  // ---- queues ----

  queues(): QueueRow[] {
    return this.tables.queues.map(copy);
  }

  queue(gpuIds: string): QueueRow | null {
    const row = this.tables.queues.find((queue) => queue.gpu_ids === gpuIds);
    return row ? copy(row) : null;
  }

  createQueue(gpuIds: string, isRunning: boolean): QueueRow {
    if (this.tables.queues.some((queue) => queue.gpu_ids === gpuIds)) throw new UniqueConstraintError("Queue.gpu_ids");
    const row: QueueRow = { id: this.tables.nextQueueId++, gpu_ids: gpuIds, is_running: isRunning };
    this.tables.queues.push(row);
    this.changed();
    return copy(row);
  }

  setQueueRunning(id: number, isRunning: boolean): void {
    const row = this.tables.queues.find((queue) => queue.id === id);
    if (!row) throw new RecordNotFoundError(`Queue ${id}`);
    row.is_running = isRunning;
    this.changed();
  }

  // ---- process ids ----

  nextPid(): number {
    const pid = this.tables.nextPid++;
    this.changed();
    return pid;
  }

  // ---- persistence ----

  /** Writes the file now (atomically: a temporary file renamed over it). */
  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(this.tables, null, 2)}\n`);
    renameSync(temporary, this.file);
  }

  private changed(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => this.flush(), 20);
    this.timer.unref();
  }
}

/** Prisma ignores `undefined` fields in `data`; so does this store. */
function definedOnly(patch: JobPatch): JobPatch {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as JobPatch;
}
