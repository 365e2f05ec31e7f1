// `<job>/loss_log.db`: the SQLite file ai-toolkit's UILogger (toolkit/logging_aitk.py) writes
// and the UI's /loss route reads. Same schema (steps, metric_keys, metrics), same buffering
// (flushed every 256 metrics or 0.25 s, and at the end of a run, so points written just before a
// crash or a stop are lost), same pruning of steps beyond the resume point on the first commit
// of a run, and the route runs the same query. Uses Node's built-in node:sqlite.

import { mkdirSync } from "node:fs";
import { DatabaseSync, type SQLInputValue } from "node:sqlite";
import path from "node:path";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS steps (step INTEGER PRIMARY KEY, wall_time REAL NOT NULL);
CREATE TABLE IF NOT EXISTS metric_keys (key TEXT PRIMARY KEY, first_seen_step INTEGER, last_seen_step INTEGER);
CREATE TABLE IF NOT EXISTS metrics (
  step INTEGER NOT NULL, key TEXT NOT NULL, value_real REAL, value_text TEXT,
  PRIMARY KEY (step, key), FOREIGN KEY (step) REFERENCES steps(step) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS idx_metrics_key_step ON metrics (key, step);
`;

type Pending = { step: number; key: string; value: number | null; text: string | null };

export class LossLog {
  private readonly file: string;
  private db: DatabaseSync | null = null;
  private toCommit: Record<string, number | string | null> = {};
  private counter = 0;
  private firstCommitDone = false;
  private pendingSteps: Array<[number, number]> = [];
  private pendingMetrics: Pending[] = [];
  private lastFlush = Date.now();

  constructor(file: string) {
    this.file = file;
  }

  /** Opens (creating) the database; the trainer does this right before its training loop. */
  start(): void {
    if (this.db) return;
    mkdirSync(path.dirname(this.file), { recursive: true });
    this.db = new DatabaseSync(this.file, { timeout: 30_000 });
    this.db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;");
    this.db.exec(`BEGIN; ${SCHEMA} COMMIT;`);
    this.lastFlush = Date.now();
  }

  log(values: Record<string, number | string | null>): void {
    Object.assign(this.toCommit, values);
  }

  commit(step?: number): void {
    this.start();
    if (Object.keys(this.toCommit).length === 0) return;
    let at: number;
    if (step === undefined) at = this.counter++;
    else {
      at = Math.trunc(step);
      if (at >= this.counter) this.counter = at + 1;
    }
    if (!this.firstCommitDone) {
      this.pruneAfter(at);
      this.firstCommitDone = true;
    }
    this.pendingSteps.push([at, Date.now() / 1000]);
    for (const [key, value] of Object.entries(this.toCommit)) {
      const numeric = typeof value === "number" ? value : value === null ? null : Number(value);
      const isNumber = numeric !== null && !Number.isNaN(numeric);
      this.pendingMetrics.push({
        step: at,
        key,
        value: isNumber ? numeric : null,
        text: isNumber || value === null ? null : String(value),
      });
    }
    this.toCommit = {};
    if (this.pendingMetrics.length >= 256 || Date.now() - this.lastFlush >= 250) this.flush();
  }

  /** Flushes and closes: the end of a run that finished. */
  finish(): void {
    if (!this.db) return;
    this.flush();
    this.db.close();
    this.db = null;
  }

  /** Closes without flushing: the process died, buffered points are gone. */
  abandon(): void {
    this.db?.close();
    this.db = null;
  }

  private pruneAfter(step: number): void {
    const db = this.db;
    if (!db) return;
    db.exec("BEGIN");
    db.prepare("DELETE FROM steps WHERE step > ?").run(step);
    db.exec("DELETE FROM metric_keys WHERE NOT EXISTS (SELECT 1 FROM metrics WHERE metrics.key = metric_keys.key)");
    db.prepare(
      "UPDATE metric_keys SET last_seen_step = (SELECT MAX(step) FROM metrics WHERE metrics.key = " +
        "metric_keys.key) WHERE last_seen_step > ?",
    ).run(step);
    db.exec("COMMIT");
  }

  private flush(): void {
    const db = this.db;
    if (!db || (this.pendingSteps.length === 0 && this.pendingMetrics.length === 0)) return;
    const minmax = new Map<string, [number, number]>();
    for (const m of this.pendingMetrics) {
      const [lo, hi] = minmax.get(m.key) ?? [m.step, m.step];
      minmax.set(m.key, [Math.min(lo, m.step), Math.max(hi, m.step)]);
    }
    db.exec("BEGIN");
    const step = db.prepare(
      "INSERT INTO steps(step, wall_time) VALUES(?, ?) ON CONFLICT(step) DO UPDATE SET wall_time=excluded.wall_time",
    );
    for (const [at, wall] of this.pendingSteps) step.run(at, wall);
    const key = db.prepare(
      "INSERT INTO metric_keys(key, first_seen_step, last_seen_step) VALUES(?, ?, ?) ON CONFLICT(key) DO UPDATE SET " +
        ("first_seen_step=MIN(metric_keys.first_seen_step, excluded.first_seen_step), " +
          "last_seen_step=MAX(metric_keys.last_seen_step, excluded.last_seen_step)"),
    );
    for (const [name, [lo, hi]] of minmax) key.run(name, lo, hi);
    const metric = db.prepare(
      "INSERT INTO metrics(step, key, value_real, value_text) VALUES(?, ?, ?, ?) ON CONFLICT(step, key) DO " +
        "UPDATE SET " +
        "value_real=excluded.value_real, value_text=excluded.value_text",
    );
    for (const m of this.pendingMetrics) metric.run(m.step, m.key, m.value, m.text);
    db.exec("COMMIT");
    this.pendingSteps = [];
    this.pendingMetrics = [];
    this.lastFlush = Date.now();
  }
}

export interface LossQuery {
  key: string;
  limit: number;
  sinceStep: number | null;
  stride: number;
}

/** The /loss route's reading: `{key, keys, points}`. Throws on a database it cannot read. */
export function readLoss(
  file: string,
  query: LossQuery,
): { key: string; keys: string[]; points: Array<{ step: number; wall_time: number; value: number | null }> } {
  const db = new DatabaseSync(file, { timeout: 30_000 });
  try {
    const keys = db
      .prepare("SELECT key FROM metric_keys ORDER BY key ASC")
      .all()
      .map((row) => String(row.key));
    const bind = (value: number | null): SQLInputValue => (value === null || Number.isNaN(value) ? null : value);
    const rows = db
      .prepare(
        `SELECT m.step AS step, s.wall_time AS wall_time, m.value_real AS value, m.value_text AS value_text
         FROM metrics m JOIN steps s ON s.step = m.step
         WHERE m.key = ? AND (? IS NULL OR m.step > ?) AND (m.step % ?) = 0
         ORDER BY m.step ASC LIMIT ?`,
      )
      .all(query.key, bind(query.sinceStep), bind(query.sinceStep), bind(query.stride), bind(query.limit));
    return {
      key: query.key,
      keys,
      points: rows.map((row) => ({
        step: Number(row.step),
        wall_time: Number(row.wall_time),
        value: row.value !== null ? Number(row.value) : row.value_text ? Number(row.value_text) : null,
      })),
    };
  } finally {
    db.close();
  }
}
