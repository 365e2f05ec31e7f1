import type { CaptionSource } from "./captions";
import type { Admission, UploadKind } from "./rules";
import type { FileState, RejectedFile, SessionMeta } from "./types";

/**
 * The session's SQLite tables. One row per file and per received part is what makes resume
 * work: a client asks which parts arrived and sends only the others.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
  name TEXT PRIMARY KEY COLLATE NOCASE,
  size INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL,
  upload_id TEXT,
  format TEXT,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
  name TEXT NOT NULL COLLATE NOCASE,
  n INTEGER NOT NULL,
  size INTEGER NOT NULL,
  etag TEXT NOT NULL,
  PRIMARY KEY (name, n)
);
CREATE TABLE IF NOT EXISTS captions (stem TEXT PRIMARY KEY, text TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rejected (name TEXT PRIMARY KEY COLLATE NOCASE, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tus (name TEXT PRIMARY KEY COLLATE NOCASE, length INTEGER NOT NULL, tail INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS leases (
  name TEXT NOT NULL COLLATE NOCASE,
  slot TEXT NOT NULL,
  id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (name, slot)
);
`;

export type FileRow = {
  name: string;
  size: number;
  state: FileState;
  upload_id: string | null;
  format: string | null;
};

export type PartRow = {
  n: number;
  size: number;
  etag: string;
};

/**
 * A file arriving through tus: its declared length, and how many bytes after its full parts
 * wait in the tail object (see receive/tus.ts). Its offset is the parts' bytes plus the tail.
 */
export type TusRow = {
  name: string;
  length: number;
  tail: number;
};

/**
 * The right of one request to write one place of a file in R2: a tus upload's next bytes
 * (slot "tus") or one part (slot "part <n>"). See leases.ts.
 */
export type LeaseRow = {
  name: string;
  slot: string;
  id: string;
  expires_at: number;
};

/**
 * The session's only way into its Durable Object storage: the SQLite tables above and the
 * alarm that drives forwarding and expiry.
 */
export class SessionStore {
  private readonly sql: SqlStorage;

  constructor(private readonly storage: DurableObjectStorage) {
    this.sql = storage.sql;
    this.sql.exec(SCHEMA);
  }

  meta(): SessionMeta | undefined {
    const row = this.sql.exec<{ json: string }>("SELECT json FROM meta WHERE id = 1").toArray()[0];
    return row ? (JSON.parse(row.json) as SessionMeta) : undefined;
  }

  saveMeta(meta: SessionMeta): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (id, json) VALUES (1, ?)", JSON.stringify(meta));
  }

  file(name: string): FileRow | undefined {
    return this.sql
      .exec<FileRow>("SELECT name, size, state, upload_id, format FROM files WHERE name = ?", name)
      .toArray()[0];
  }

  files(): FileRow[] {
    return this.sql.exec<FileRow>("SELECT name, size, state, upload_id, format FROM files ORDER BY name").toArray();
  }

  /**
   * The files whose name is `stem` (lower case) plus an extension: "a.png", "A.jpg" for "a".
   * A prefix match on the indexed name, then the exact stem, so only those rows are read.
   */
  filesWithStem(stem: string): FileRow[] {
    const pattern = `${stem.replace(/[\\%_]/g, (char) => `\\${char}`)}.%`;
    return this.sql
      .exec<FileRow>("SELECT name, size, state, upload_id, format FROM files WHERE name LIKE ? ESCAPE '\\'", pattern)
      .toArray()
      .filter((row) => {
        const dot = row.name.lastIndexOf(".");
        return dot > 0 && row.name.slice(0, dot).toLowerCase() === stem;
      });
  }

  putFile(row: FileRow): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO files (name, size, state, upload_id, format, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
      row.name,
      row.size,
      row.state,
      row.upload_id,
      row.format,
      Date.now(),
    );
    // A file that arrives well replaces an earlier refusal of the same name.
    this.sql.exec("DELETE FROM rejected WHERE name = ?", row.name);
  }

  setFileState(names: string[], state: FileState): void {
    for (const name of names) this.sql.exec("UPDATE files SET state = ? WHERE name = ?", state, name);
  }

  deleteFile(name: string): void {
    this.sql.exec("DELETE FROM files WHERE name = ?", name);
    this.sql.exec("DELETE FROM parts WHERE name = ?", name);
    this.sql.exec("DELETE FROM tus WHERE name = ?", name);
    this.sql.exec("DELETE FROM leases WHERE name = ?", name);
  }

  tus(name: string): TusRow | undefined {
    return this.sql.exec<TusRow>("SELECT name, length, tail FROM tus WHERE name = ?", name).toArray()[0];
  }

  putTus(row: TusRow): void {
    this.sql.exec("INSERT OR REPLACE INTO tus (name, length, tail) VALUES (?, ?, ?)", row.name, row.length, row.tail);
  }

  dropTus(name: string): void {
    this.sql.exec("DELETE FROM tus WHERE name = ?", name);
  }

  lease(name: string, slot: string): LeaseRow | undefined {
    return this.sql
      .exec<LeaseRow>("SELECT name, slot, id, expires_at FROM leases WHERE name = ? AND slot = ?", name, slot)
      .toArray()[0];
  }

  /** Leases on `name` that have not expired at `now`. */
  liveLeases(name: string, now: number): LeaseRow[] {
    return this.sql
      .exec<LeaseRow>(
        "SELECT name, slot, id, expires_at FROM leases WHERE name = ? AND expires_at > ? ORDER BY slot",
        name,
        now,
      )
      .toArray();
  }

  putLease(row: LeaseRow): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO leases (name, slot, id, expires_at) VALUES (?, ?, ?, ?)",
      row.name,
      row.slot,
      row.id,
      row.expires_at,
    );
  }

  dropLease(name: string, slot: string, id: string): void {
    this.sql.exec("DELETE FROM leases WHERE name = ? AND slot = ? AND id = ?", name, slot, id);
  }

  parts(name: string): PartRow[] {
    return this.sql.exec<PartRow>("SELECT n, size, etag FROM parts WHERE name = ? ORDER BY n", name).toArray();
  }

  putPart(name: string, part: PartRow): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO parts (name, n, size, etag) VALUES (?, ?, ?, ?)",
      name,
      part.n,
      part.size,
      part.etag,
    );
  }

  clearParts(name: string): void {
    this.sql.exec("DELETE FROM parts WHERE name = ?", name);
  }

  /** Bytes of staged images plus bytes of parts received so far, for the session size limit. */
  usedBytes(except?: string): number {
    const files = this.sql
      .exec<{ total: number }>(
        "SELECT COALESCE(SUM(size), 0) AS total FROM files WHERE state != 'receiving' AND name != ?",
        except ?? "",
      )
      .one().total;
    const parts = this.sql
      .exec<{ total: number }>("SELECT COALESCE(SUM(size), 0) AS total FROM parts WHERE name != ?", except ?? "")
      .one().total;
    return files + parts;
  }

  /**
   * What the size and count rules need to know about `name` arriving with `size` bytes:
   * `received` bytes of it came in earlier parts; a `whole` file replaces any earlier copy.
   */
  admission(name: string, kind: UploadKind, size: number, received: number, whole: boolean): Admission {
    return {
      name,
      kind,
      size,
      receivedBytes: received,
      sessionBytes: this.usedBytes(whole ? name : undefined),
      imageCount: this.fileCount(),
      isNew: !this.file(name),
    };
  }

  fileCount(): number {
    return this.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM files").one().n;
  }

  caption(stem: string): { text: string; source: string } | undefined {
    return this.sql
      .exec<{ text: string; source: string }>("SELECT text, source FROM captions WHERE stem = ?", stem)
      .toArray()[0];
  }

  captions(): Array<{ stem: string; text: string; source: string }> {
    return this.sql
      .exec<{ stem: string; text: string; source: string }>("SELECT stem, text, source FROM captions")
      .toArray();
  }

  putCaption(stem: string, text: string, source: CaptionSource): void {
    this.sql.exec("INSERT OR REPLACE INTO captions (stem, text, source) VALUES (?, ?, ?)", stem, text, source);
  }

  reject(name: string, reason: string): void {
    this.sql.exec("INSERT OR REPLACE INTO rejected (name, reason) VALUES (?, ?)", name, reason);
  }

  rejected(): RejectedFile[] {
    return this.sql.exec<{ name: string; reason: string }>("SELECT name, reason FROM rejected ORDER BY name").toArray();
  }

  setAlarm(at: number): Promise<void> {
    return this.storage.setAlarm(at);
  }

  deleteAlarm(): Promise<void> {
    return this.storage.deleteAlarm();
  }

  /** Forget the whole session: its URL answers 404 from now on. */
  forget(): void {
    this.sql.exec(
      "DELETE FROM meta; DELETE FROM files; DELETE FROM parts; DELETE FROM captions; DELETE FROM rejected; " +
        "DELETE FROM tus; DELETE FROM leases;",
    );
  }
}
