import {
  busyProblem,
  grantLease,
  holdsLease,
  lostProblem,
  othersWriting,
  partSlot,
  releaseLease,
  settledProblem,
  type Lease,
} from "./leases";
import {
  checkParts,
  limitProblem,
  nameRefusal,
  sanitizeFilename,
  stagedKey,
  stemClash,
  stemOf,
  uploadKind,
  type UploadKind,
} from "./rules";
import type { PartRow, SessionStore } from "./store";
import { done, refuse, type FileTarget, type Manifest, type Outcome, type SessionMeta } from "./types";
import { tusTailKey } from "./receive/tus";

/** What every check of an arriving file needs to know about its session. */
export interface OpenSession {
  meta: SessionMeta;
  limits: Manifest["limits"];
}

export interface FileStatus {
  name: string;
  state: string;
  size: number;
  parts: Array<{ n: number; size: number }>;
}

/**
 * The books of a session's files, kept inside its Durable Object (which serialises every
 * call): admitting a file before its bytes come, recording what arrived, joining parts and
 * removing files with what they left in R2. The bytes themselves never pass through here.
 */
export class SessionFiles {
  /** Multipart uploads being created, so parallel first parts share one upload id. */
  private readonly creating = new Map<string, Promise<string>>();
  /** Files whose parts are being joined by R2 right now (lower-case names): nothing may write them meanwhile. */
  private readonly completing = new Set<string>();

  constructor(
    private readonly store: SessionStore,
    private readonly bucket: R2Bucket,
  ) {}

  /**
   * Checks a file before its bytes are accepted and says where they go in R2. With `part`,
   * also grants the request the lease on that part (see leases.ts): it must release it.
   */
  async begin(
    open: OpenSession,
    rawName: string,
    size: number,
    mode: "whole" | "part",
    part: number | undefined,
    leaseMs: number,
  ): Promise<Outcome<FileTarget>> {
    const { meta, limits } = open;
    const name = sanitizeFilename(rawName);
    if (name === undefined)
      return refuse(400, `${JSON.stringify(rawName)} is not a usable file name: use letters, digits, '.', '_' or '-'`);
    const kind = uploadKind(name);
    if (kind === undefined) return this.rejected(name, 415, nameRefusal(rawName, name));
    const key = stagedKey(meta.prefix, name);
    if (kind !== "image" && kind !== "zip") {
      if (mode === "part") return refuse(400, `${name} is a caption file: send it whole with PUT .../files/${name}`);
      return done({ name, kind, key, maxBytes: limits.session_max_bytes });
    }
    const clash = kind === "image" ? this.stemClash(name, false) : undefined;
    if (clash) return this.rejected(name, 409, clash);
    const existing = this.store.file(name);
    if (mode === "part") {
      // A staged file changes only by an explicit DELETE: a late part must not reopen it.
      if (existing && existing.state !== "receiving") return refuse(409, settledProblem(existing));
      if (this.completing.has(name.toLowerCase()))
        return refuse(
          409,
          `${name} is being joined from its parts right now: GET .../files/${name} shows when it is staged`,
        );
      if (part !== undefined && this.store.tus(name))
        return refuse(
          409,
          `${name} is being uploaded with tus: continue it there (HEAD .../tus/${name}), or DELETE ` +
            `.../files/${name} first`,
        );
    }
    const received =
      mode === "part" && existing?.state === "receiving"
        ? this.store.parts(name).reduce((sum, p) => sum + p.size, 0)
        : 0;
    const overLimit = limitProblem(this.store.admission(name, kind, size, received, mode === "whole"), limits);
    if (overLimit) return this.rejected(name, 413, overLimit);
    const maxBytes = kind === "image" ? limits.file_max_bytes : limits.session_max_bytes;
    if (mode === "whole") return done({ name, kind, key, maxBytes });
    // Granted before anything is awaited, so no other request can slip in between the checks and the lease.
    const granted = part === undefined ? undefined : grantLease(this.store, name, partSlot(part), leaseMs, Date.now());
    if (granted && !granted.ok) return granted;
    const lease = granted?.value;
    try {
      const uploadId = await this.multipartFor(name, key, existing?.state === "receiving" ? existing.upload_id : null);
      return done({ name, kind, key, maxBytes, uploadId, ...(lease ? { lease } : {}) });
    } catch (error) {
      if (lease) releaseLease(this.store, lease);
      throw error;
    }
  }

  async recordWhole(open: OpenSession, name: string, size: number, format: string | null): Promise<Outcome<null>> {
    const clash = uploadKind(name) === "image" ? this.stemClash(name, true) : undefined;
    if (clash) return this.refuseStaged(open, name, clash, 409);
    const problem = this.overLimit(open, name, size);
    if (problem) return this.refuseStaged(open, name, problem);
    this.store.clearParts(name);
    this.store.putFile({ name, size, state: "staged", upload_id: null, format });
    return done(null);
  }

  /** Records a part its request stored in R2 while holding the part's lease. */
  recordPart(name: string, part: PartRow, format: string | null, lease: Lease): Outcome<null> {
    const row = this.store.file(name);
    if (!row || row.state !== "receiving")
      return refuse(409, `${name} is not being received in parts any more: check GET .../files/${name}`);
    if (!holdsLease(this.store, lease)) return refuse(409, lostProblem(lease));
    this.store.putPart(name, part);
    if (format !== null) this.store.putFile({ ...row, format });
    return done(null);
  }

  status(rawName: string): Outcome<FileStatus> {
    const name = sanitizeFilename(rawName) ?? rawName;
    const row = this.store.file(name);
    if (!row) return refuse(404, `nothing of ${name} has arrived yet: send it with PUT .../files/${name} or in parts`);
    const parts = this.store.parts(row.name).map(({ n, size }) => ({ n, size }));
    return done({
      name: row.name,
      state: row.state,
      size: row.state === "receiving" ? parts.reduce((s, p) => s + p.size, 0) : row.size,
      parts,
    });
  }

  /**
   * Joins the parts of a file into one R2 object, after checking R2's multipart rules. Waits
   * for no one: while another request still writes a part (`own` is the caller's lease, if
   * any), it refuses, since joining would leave that part out or break on it.
   */
  async complete(
    open: OpenSession,
    rawName: string,
    own?: Lease,
  ): Promise<Outcome<{ name: string; kind: UploadKind; key: string; size: number }>> {
    const name = sanitizeFilename(rawName) ?? rawName;
    const row = this.store.file(name);
    const kind = uploadKind(name);
    const key = stagedKey(open.meta.prefix, name);
    if (row?.state === "staged" && kind) return done({ name, kind, key, size: row.size });
    if (!row || row.state !== "receiving" || !row.upload_id || !kind)
      return refuse(409, `${name} has no parts to complete: send them with PUT .../files/${name}/parts/1, 2, ...`);
    const writing = othersWriting(this.store, name, Date.now(), own)[0];
    if (writing) return refuse(409, `${busyProblem(writing, Date.now())}; complete again once it has arrived`);
    if (this.completing.has(name.toLowerCase()))
      return refuse(
        409,
        `${name} is being joined by another request right now: GET .../files/${name} shows when it is staged`,
      );
    const parts = this.store.parts(name);
    const problem = checkParts(name, parts);
    if (problem) return refuse(409, problem);
    const upload = this.bucket.resumeMultipartUpload(key, row.upload_id);
    this.completing.add(name.toLowerCase());
    let object: R2Object;
    try {
      object = await upload.complete(parts.map((p) => ({ partNumber: p.n, etag: p.etag })));
    } finally {
      this.completing.delete(name.toLowerCase());
    }
    const clash = kind === "image" ? this.stemClash(name, true) : undefined;
    if (clash) return this.refuseStaged(open, name, clash, 409);
    const overLimit = this.overLimit(open, name, object.size);
    if (overLimit) return this.refuseStaged(open, name, overLimit);
    this.store.clearParts(name);
    this.store.putFile({ name, size: object.size, state: "staged", upload_id: null, format: row.format });
    return done({ name, kind, key, size: object.size });
  }

  /** Removes one file: its staged object, or its unfinished multipart upload (and tus tail), and its row. */
  async remove(prefix: string, name: string): Promise<void> {
    const row = this.store.file(name);
    if (!row) return;
    const key = stagedKey(prefix, name);
    if (row.state === "receiving" && row.upload_id) {
      await this.bucket
        .resumeMultipartUpload(key, row.upload_id)
        .abort()
        .catch(() => {});
      if (this.store.tus(name)) await this.bucket.delete(tusTailKey(key));
    } else await this.bucket.delete(key);
    this.store.deleteFile(name);
  }

  /** Removes a file and lists it among the refused, with why. */
  async reject(prefix: string, name: string, reason: string): Promise<void> {
    await this.remove(prefix, name);
    this.store.reject(name, reason);
  }

  /** Removes every staged object and abandons unfinished multipart uploads of the session. */
  async removeAll(prefix: string): Promise<void> {
    for (const row of this.store.files()) {
      if (row.state === "receiving" && row.upload_id) {
        await this.bucket
          .resumeMultipartUpload(stagedKey(prefix, row.name), row.upload_id)
          .abort()
          .catch(() => {});
      }
    }
    let cursor: string | undefined;
    do {
      const listed = await this.bucket.list({ prefix, ...(cursor === undefined ? {} : { cursor }), limit: 1000 });
      if (listed.objects.length > 0) await this.bucket.delete(listed.objects.map((object) => object.key));
      cursor = listed.truncated ? listed.cursor : undefined;
    } while (cursor);
  }

  /**
   * The size and count rules again, with the real size of a file that has arrived: files come
   * in parallel and nothing is reserved at begin, and a zip entry's size is known only once
   * it is unpacked.
   */
  private overLimit(open: OpenSession, name: string, size: number): string | undefined {
    const kind = uploadKind(name);
    if (kind !== "image" && kind !== "zip") return undefined;
    return limitProblem(this.store.admission(name, kind, size, 0, true), open.limits);
  }

  /** Refuses a file whose bytes are already in R2: they are deleted with its row. */
  private async refuseStaged(open: OpenSession, name: string, reason: string, status = 413): Promise<Outcome<never>> {
    await this.bucket.delete(stagedKey(open.meta.prefix, name));
    this.store.deleteFile(name);
    return this.rejected(name, status, reason);
  }

  /**
   * Another image with this one's stem (rules.ts, stemClash). When a file is declared, any
   * other image counts, even one still arriving; when its bytes have arrived, only images
   * that arrived before it, so of two sent at once the one that finishes second is refused.
   */
  private stemClash(name: string, arrived: boolean): string | undefined {
    const others = this.store.filesWithStem(stemOf(name)).filter((row) => !arrived || row.state !== "receiving");
    return stemClash(
      name,
      others.map((row) => row.name),
    );
  }

  private rejected(name: string, status: number, reason: string): Outcome<never> {
    this.store.reject(name, reason);
    return refuse(status, reason);
  }

  private multipartFor(name: string, key: string, existing: string | null): Promise<string> {
    if (existing) return Promise.resolve(existing);
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.bucket.createMultipartUpload(key).then((upload) => {
        this.store.clearParts(name);
        this.store.putFile({ name, size: 0, state: "receiving", upload_id: upload.uploadId, format: null });
        return upload.uploadId;
      });
      pending.finally(() => this.creating.delete(name)).catch(() => {});
      this.creating.set(name, pending);
    }
    return pending;
  }
}
