import type { HistoryPoint } from "./metrics";
import type { LossPoint } from "./observation";
import type { JobRecord } from "./state";
import { parseTqdmLine } from "./tqdm";

/**
 * The SQLite storage of one TrainingJob: the record (one document, under a single key) and the
 * series (tables): the loss history with its stride, and the log tail. Both series are
 * bounded, so a 100k-step run costs the same as a short one.
 */
/** Where the history's stride was kept before it moved into SQL with the history itself. */
const LEGACY_STRIDE_KEY = "historyStride";

export class JobStore {
  constructor(private readonly storage: DurableObjectStorage) {
    storage.sql.exec(
      `
      CREATE TABLE IF NOT EXISTS history (step INTEGER PRIMARY KEY, at INTEGER NOT NULL, losses TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS history_stride (id INTEGER PRIMARY KEY CHECK (id = 1), stride INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS logs (seq INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL, ` +
        `progress INTEGER NOT NULL);
    `,
    );
  }

  async record(): Promise<JobRecord | undefined> {
    return this.storage.get<JobRecord>("record");
  }

  async save(record: JobRecord): Promise<void> {
    await this.storage.put("record", record);
  }

  /**
   * Adds loss points, keeping at most one per `stride` steps (the newest of its bucket). Past
   * `cap` points the stride doubles and the buckets merge, so storage stays bounded and the
   * points stay spread over the whole run.
   */
  async addHistory(updates: readonly LossPoint[], at: number, cap: number): Promise<void> {
    if (updates.length === 0) return;
    let stride = await this.historyStride();
    const sql = this.storage.sql;
    for (const update of updates) {
      const bucket = Math.floor(update.step / stride);
      sql.exec("DELETE FROM history WHERE CAST(step / ? AS INTEGER) = ? AND step < ?", stride, bucket, update.step);
      sql.exec(
        "INSERT OR REPLACE INTO history (step, at, losses) VALUES (?, ?, ?)",
        update.step,
        at,
        JSON.stringify(update.losses),
      );
    }
    while (this.historyCount() > cap) {
      stride *= 2;
      sql.exec(
        "DELETE FROM history WHERE step NOT IN (SELECT MAX(step) FROM history GROUP BY CAST(step / ? AS INTEGER))",
        stride,
      );
    }
    sql.exec("INSERT OR REPLACE INTO history_stride (id, stride) VALUES (1, ?)", stride);
    await this.storage.delete(LEGACY_STRIDE_KEY);
  }

  history(): HistoryPoint[] {
    return this.storage.sql
      .exec<{ step: number; at: number; losses: string }>("SELECT step, at, losses FROM history ORDER BY step")
      .toArray()
      .map((row) => ({ step: row.step, at: row.at, losses: JSON.parse(row.losses) as Record<string, number> }));
  }

  historyCount(): number {
    return this.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM history").one().n;
  }

  /** Steps between two stored points: 1 until the history had to be thinned. */
  async historyStride(): Promise<number> {
    const row = this.storage.sql.exec<{ stride: number }>("SELECT stride FROM history_stride").toArray()[0];
    // Objects written before the stride moved next to its history kept it under a key.
    return row?.stride ?? (await this.storage.get<number>(LEGACY_STRIDE_KEY)) ?? 1;
  }

  /**
   * Appends log segments, keeping the newest `keep`. Consecutive tqdm updates collapse into the
   * newest one: hundreds of progress redraws would otherwise push the lines that matter (a
   * warning, "Saving at step", a traceback) out of the tail.
   */
  addLogs(segments: readonly string[], keep: number): void {
    if (segments.length === 0) return;
    const sql = this.storage.sql;
    let lastIsProgress =
      sql.exec<{ progress: number }>("SELECT progress FROM logs ORDER BY seq DESC LIMIT 1").toArray()[0]?.progress ===
      1;
    for (const segment of segments) {
      const isProgress = parseTqdmLine(segment) !== undefined;
      if (isProgress && lastIsProgress) {
        sql.exec("UPDATE logs SET line = ? WHERE seq = (SELECT MAX(seq) FROM logs)", segment);
      } else {
        sql.exec("INSERT INTO logs (line, progress) VALUES (?, ?)", segment, isProgress ? 1 : 0);
      }
      lastIsProgress = isProgress;
    }
    sql.exec("DELETE FROM logs WHERE seq <= (SELECT MAX(seq) FROM logs) - ?", keep);
  }

  /** The newest `count` stored log lines, oldest first. */
  logs(count: number): { lines: string[]; stored: number } {
    const sql = this.storage.sql;
    const stored = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM logs").one().n;
    const lines = sql
      .exec<{ line: string }>(
        "SELECT line FROM (SELECT seq, line FROM logs ORDER BY seq DESC LIMIT ?) ORDER BY seq",
        count,
      )
      .toArray()
      .map((row) => row.line);
    return { lines, stored };
  }
}
