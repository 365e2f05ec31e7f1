import { DurableObject } from "cloudflare:workers";
import { readConfig, type Config } from "../config";
import { ToolkitClient } from "../toolkit/bridge/client";
import { selectTransport } from "../toolkit/transport";
import { captionListProblem, type CaptionEntry, type CaptionSource } from "./captions";
import { dropFile, removeDue, removeStaged } from "./cleanup";
import { forwardStallMs, forwardStep, notReadyToForward, stalled } from "./forwarding";
import { buildManifest, sessionLimits } from "./manifest";
import { limitProblem, nameRefusal, sanitizeFilename, stagedKey, stemClash, stemOf, uploadKind, type UploadKind, checkParts } from "./rules";
import { busyProblem, grantLease, holdsLease, LEASE_MS, lostProblem, othersWriting, partSlot, releaseLease, renewLease, settledProblem, TUS_SLOT, type Lease } from "./leases";
import { SessionStore, type PartRow } from "./store";
import { sameHash } from "./token";
import { recordTusStep, tusStateOf, type TusStep } from "./receive/tus-books";
import { done, refuse, type FileTarget, type Manifest, type NewSession, type Outcome, type SessionMeta, type TusState } from "./types";

const HOUR = 3600_000;

/**
 * One dataset upload: which files and parts arrived, their captions, and how forwarding to
 * the toolkit is going. Bytes never pass through here (routes stream them to R2 directly);
 * this object only keeps the books, so every request is small and serialised.
 */
export class UploadSession extends DurableObject<Env> {
  private readonly store: SessionStore;
  /** Multipart uploads being created, so parallel first parts share one upload id. */
  private readonly creating = new Map<string, Promise<string>>();
  /** Files whose parts are being joined by R2 right now (lower-case names): nothing may write them meanwhile. */
  private readonly completing = new Set<string>();
  /** True while a forwarding step runs in this instance: it is alive, whatever the clock says. */
  private stepping = false;
  /** Public so tests can swap in a scripted toolkit or smaller limits. */
  config: Config;
  toolkit: ToolkitClient;
  /** How long a write lease lives unrenewed (see leases.ts); public so tests can shorten it. */
  leaseMs = LEASE_MS;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SessionStore(ctx.storage.sql);
    this.config = readConfig(env);
    this.toolkit = new ToolkitClient(selectTransport(this.config, env.TOOLKIT), this.config.TOOLKIT_TIMEOUT_MS);
  }

  async create(init: NewSession): Promise<Manifest> {
    const config = this.config;
    const now = Date.now();
    const meta: SessionMeta = {
      ...init,
      prefix: `uploads/${init.tokenHash.slice(0, 32)}/`,
      createdAt: now,
      expiresAt: now + config.UPLOAD_SESSION_TTL_HOURS * HOUR,
      state: "open",
      forward: { batchesTotal: 0, batchesDone: 0, filesSent: 0, bytesSent: 0 },
    };
    this.store.saveMeta(meta);
    await this.ctx.storage.setAlarm(meta.expiresAt);
    return buildManifest(meta, this.store, config);
  }

  async manifest(tokenHash: string): Promise<Outcome<Manifest>> {
    const open = this.open(tokenHash, false);
    return open.ok ? done(buildManifest(open.value, this.store, this.config)) : open;
  }

  /** The session's size and count limits, without building the whole manifest. */
  async limits(tokenHash: string): Promise<Outcome<Manifest["limits"]>> {
    const open = this.open(tokenHash, false);
    return open.ok ? done(sessionLimits(open.value, this.config)) : open;
  }

  /**
   * Checks a file before its bytes are accepted and says where they go in R2. With `part`,
   * also grants the request the lease on that part (see leases.ts): it must release it.
   */
  async beginFile(tokenHash: string, rawName: string, size: number, mode: "whole" | "part", part?: number): Promise<Outcome<FileTarget>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const meta = open.value;
    const config = this.config;
    const limits = sessionLimits(meta, config);
    const name = sanitizeFilename(rawName);
    if (name === undefined) return refuse(400, `${JSON.stringify(rawName)} is not a usable file name: use letters, digits, '.', '_' or '-'`);
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
      if (this.completing.has(name.toLowerCase())) return refuse(409, `${name} is being joined from its parts right now: GET .../files/${name} shows when it is staged`);
      if (part !== undefined && this.store.tus(name)) return refuse(409, `${name} is being uploaded with tus: continue it there (HEAD .../tus/${name}), or DELETE .../files/${name} first`);
    }
    const received = mode === "part" && existing?.state === "receiving" ? this.store.parts(name).reduce((sum, p) => sum + p.size, 0) : 0;
    const overLimit = limitProblem(this.store.admission(name, kind, size, received, mode === "whole"), limits);
    if (overLimit) return this.rejected(name, 413, overLimit);
    const maxBytes = kind === "image" ? limits.file_max_bytes : limits.session_max_bytes;
    if (mode === "whole") return done({ name, kind, key, maxBytes });
    // Granted before anything is awaited, so no other request can slip in between the checks and the lease.
    const granted = part === undefined ? undefined : grantLease(this.store, name, partSlot(part), this.leaseMs, Date.now());
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

  /** Keeps a write lease alive (its holder calls this while it streams); refused once the lease is lost. */
  async renewLease(tokenHash: string, lease: Lease): Promise<Outcome<null>> {
    const open = this.open(tokenHash, false);
    return open.ok ? renewLease(this.store, lease, Date.now()) : open;
  }

  /** Ends a write lease, however its request ended. */
  async releaseLease(tokenHash: string, lease: Lease): Promise<Outcome<null>> {
    const open = this.open(tokenHash, false);
    if (open.ok) releaseLease(this.store, lease);
    return open.ok ? done(null) : open;
  }

  async recordWhole(tokenHash: string, name: string, size: number, format: string | null): Promise<Outcome<null>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const clash = uploadKind(name) === "image" ? this.stemClash(name, true) : undefined;
    if (clash) return this.refuseStaged(open.value, name, clash, 409);
    const problem = this.overLimit(open.value, name, size);
    if (problem) return this.refuseStaged(open.value, name, problem);
    this.store.clearParts(name);
    this.store.putFile({ name, size, state: "staged", upload_id: null, format });
    return done(null);
  }

  /** Records a part its request stored in R2 while holding the part's lease. */
  async recordPart(tokenHash: string, name: string, part: PartRow, format: string | null, lease: Lease): Promise<Outcome<null>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const row = this.store.file(name);
    if (!row || row.state !== "receiving") return refuse(409, `${name} is not being received in parts any more: check GET .../files/${name}`);
    if (!holdsLease(this.store, lease)) return refuse(409, lostProblem(lease));
    this.store.putPart(name, part);
    if (format !== null) this.store.putFile({ ...row, format });
    return done(null);
  }

  async fileStatus(tokenHash: string, rawName: string): Promise<Outcome<{ name: string; state: string; size: number; parts: Array<{ n: number; size: number }> }>> {
    const open = this.open(tokenHash, false);
    if (!open.ok) return open;
    const name = sanitizeFilename(rawName) ?? rawName;
    const row = this.store.file(name);
    if (!row) return refuse(404, `nothing of ${name} has arrived yet: send it with PUT .../files/${name} or in parts`);
    const parts = this.store.parts(row.name).map(({ n, size }) => ({ n, size }));
    return done({ name: row.name, state: row.state, size: row.state === "receiving" ? parts.reduce((s, p) => s + p.size, 0) : row.size, parts });
  }

  /**
   * Joins the parts of a file into one R2 object, after checking R2's multipart rules. Waits
   * for no one: while another request still writes a part (`own` is the caller's lease, if
   * any), it refuses, since joining would leave that part out or break on it.
   */
  async completeFile(tokenHash: string, rawName: string, own?: Lease): Promise<Outcome<{ name: string; kind: UploadKind; key: string; size: number }>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const name = sanitizeFilename(rawName) ?? rawName;
    const row = this.store.file(name);
    const kind = uploadKind(name);
    const key = stagedKey(open.value.prefix, name);
    if (row?.state === "staged" && kind) return done({ name, kind, key, size: row.size });
    if (!row || row.state !== "receiving" || !row.upload_id || !kind) return refuse(409, `${name} has no parts to complete: send them with PUT .../files/${name}/parts/1, 2, ...`);
    const writing = othersWriting(this.store, name, Date.now(), own)[0];
    if (writing) return refuse(409, `${busyProblem(writing, Date.now())}; complete again once it has arrived`);
    if (this.completing.has(name.toLowerCase())) return refuse(409, `${name} is being joined by another request right now: GET .../files/${name} shows when it is staged`);
    const parts = this.store.parts(name);
    const problem = checkParts(name, parts);
    if (problem) return refuse(409, problem);
    const upload = this.env.STAGING.resumeMultipartUpload(key, row.upload_id);
    this.completing.add(name.toLowerCase());
    let object: R2Object;
    try {
      object = await upload.complete(parts.map((p) => ({ partNumber: p.n, etag: p.etag })));
    } finally {
      this.completing.delete(name.toLowerCase());
    }
    const clash = kind === "image" ? this.stemClash(name, true) : undefined;
    if (clash) return this.refuseStaged(open.value, name, clash, 409);
    const overLimit = this.overLimit(open.value, name, object.size);
    if (overLimit) return this.refuseStaged(open.value, name, overLimit);
    this.store.clearParts(name);
    this.store.putFile({ name, size: object.size, state: "staged", upload_id: null, format: row.format });
    return done({ name, kind, key, size: object.size });
  }

  /**
   * tus creation: the file is admitted as a first part would be, against its whole declared
   * length, and starts over if an earlier tus upload of the same name was left unfinished.
   */
  async tusCreate(tokenHash: string, rawName: string, length: number): Promise<Outcome<{ name: string }>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const name = sanitizeFilename(rawName);
    const kind = name === undefined ? undefined : uploadKind(name);
    if (name !== undefined && kind !== undefined && kind !== "image") return refuse(415, `tus takes images only: send ${name} with PUT .../files/${name}`);
    const writing = name === undefined ? undefined : othersWriting(this.store, name, Date.now())[0];
    if (writing) return refuse(409, busyProblem(writing, Date.now()));
    if (name !== undefined && this.store.file(name)?.state === "receiving") await dropFile(this.env.STAGING, this.store, open.value.prefix, name);
    const target = await this.beginFile(tokenHash, rawName, length, "part");
    if (!target.ok) return target;
    this.store.putTus({ name: target.value.name, length, tail: 0 });
    return done({ name: target.value.name });
  }

  /** Where a tus upload stands; a file already staged reports itself complete, so a client resuming it stops. */
  async tusState(tokenHash: string, rawName: string): Promise<Outcome<TusState>> {
    const open = this.open(tokenHash, false);
    return open.ok ? tusStateOf(this.store, open.value.prefix, rawName) : open;
  }

  /**
   * A PATCH about to store bytes: where the upload stands, and the lease on it (see
   * leases.ts), granted only when no other PATCH holds it and the client's offset is the
   * stored one. Nothing is written before this answers, so a refused PATCH changes nothing.
   */
  async tusBegin(tokenHash: string, rawName: string, offset: number): Promise<Outcome<{ state: TusState; lease: Lease }>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const state = tusStateOf(this.store, open.value.prefix, rawName);
    if (!state.ok) return state;
    const s = state.value;
    if (s.finished) return refuse(409, settledProblem({ name: s.name, state: s.fileState, size: s.length }));
    const granted = grantLease(this.store, s.name, TUS_SLOT, this.leaseMs, Date.now());
    if (!granted.ok) return granted;
    if (offset !== s.offset) {
      releaseLease(this.store, granted.value);
      return refuse(409, `Upload-Offset is ${offset} but ${s.offset} bytes of ${s.name} are stored: HEAD the upload URL and resume from its Upload-Offset`);
    }
    return done({ state: s, lease: granted.value });
  }

  /** Records what one PATCH stored: maybe a full part, and the bytes now waiting in the tail object. */
  async tusProgress(tokenHash: string, name: string, step: TusStep, lease: Lease): Promise<Outcome<null>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    if (!holdsLease(this.store, lease)) return refuse(409, lostProblem(lease));
    return recordTusStep(this.store, name, step);
  }

  /** The last bytes of a tus upload are stored: joins its parts and records it like any whole file. */
  async tusFinish(tokenHash: string, name: string, lease: Lease): Promise<Outcome<{ name: string; size: number }>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    if (!holdsLease(this.store, lease)) return refuse(409, lostProblem(lease));
    const completed = await this.completeFile(tokenHash, name, lease);
    if (!completed.ok) return completed;
    this.store.dropTus(name);
    return done({ name, size: completed.value.size });
  }

  /** tus termination: removes the unfinished upload (its parts and tail). */
  async tusTerminate(tokenHash: string, rawName: string): Promise<Outcome<null>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const name = sanitizeFilename(rawName) ?? rawName;
    if (!this.store.tus(name)) return refuse(404, `there is no unfinished tus upload of ${name} here: GET the session URL to see its files`);
    await dropFile(this.env.STAGING, this.store, open.value.prefix, name);
    return done(null);
  }

  async rejectFile(tokenHash: string, name: string, reason: string): Promise<Outcome<null>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    await dropFile(this.env.STAGING, this.store, open.value.prefix, name);
    this.store.reject(name, reason);
    return done(null);
  }

  async removeFile(tokenHash: string, rawName: string): Promise<Outcome<null>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    await dropFile(this.env.STAGING, this.store, open.value.prefix, sanitizeFilename(rawName) ?? rawName);
    return done(null);
  }

  async setCaptions(tokenHash: string, entries: CaptionEntry[], source: CaptionSource): Promise<Outcome<{ captions: number }>> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const problem = captionListProblem(entries, this.config.UPLOAD_CAPTION_MAX_CHARS);
    if (problem) return refuse(400, problem);
    for (const entry of entries) this.store.putCaption(entry.stem, entry.text, source);
    return done({ captions: entries.length });
  }

  /** Starts forwarding in the background (an alarm), so closing the page does not stop it. */
  async finalize(tokenHash: string): Promise<Outcome<Manifest>> {
    const ready = this.readyToForward(tokenHash);
    if (!ready.ok) return ready;
    this.startForwarding(ready.value);
    await this.ctx.storage.setAlarm(Date.now());
    return this.manifest(tokenHash);
  }

  /** Forwards now and answers when done: upload_dataset's inline images go this way. */
  async forwardNow(tokenHash: string): Promise<Outcome<Manifest>> {
    const ready = this.readyToForward(tokenHash);
    if (!ready.ok) return ready;
    this.startForwarding(ready.value);
    while (await this.step());
    await this.schedule();
    return this.manifest(tokenHash);
  }

  async abandon(tokenHash: string): Promise<Outcome<null>> {
    const open = this.open(tokenHash, false);
    if (!open.ok) return open;
    if (open.value.state === "forwarding") return refuse(409, "the dataset is being sent to the toolkit right now: wait for it to finish, then delete the session");
    await removeStaged(this.env.STAGING, this.store, open.value.prefix);
    await this.ctx.storage.deleteAlarm();
    this.store.forget();
    return done(null);
  }

  /**
   * Forwarding sends one batch per invocation and schedules the next right away, so no
   * invocation runs into an alarm's time limits; otherwise expiry and removal of staged files.
   */
  override async alarm(): Promise<void> {
    const meta = this.current();
    if (!meta) return;
    const now = Date.now();
    if (meta.state === "forwarding") {
      // A step running in this instance (forwardNow) goes on by itself.
      if (this.stepping) return;
      // Should this invocation die mid-batch, this alarm finds the session stalled.
      await this.ctx.storage.setAlarm(now + forwardStallMs(this.config) + 1000);
      await this.step();
      return this.schedule();
    }
    if (await removeDue(this.env.STAGING, this.store, meta, now)) return;
    await this.schedule();
  }

  private startForwarding(meta: SessionMeta): void {
    this.store.saveMeta({ ...meta, state: "forwarding", forward: { ...meta.forward, activeAt: Date.now(), error: undefined, errorKind: undefined } });
  }

  private async step(): Promise<boolean> {
    this.stepping = true;
    try {
      return await forwardStep({ store: this.store, bucket: this.env.STAGING, config: this.config, toolkit: this.toolkit });
    } finally {
      this.stepping = false;
    }
  }

  /** The session's meta, moved to "failed" first if its forwarding has stalled. */
  private current(): SessionMeta | undefined {
    const meta = this.store.meta();
    if (!meta || this.stepping) return meta;
    const failed = stalled(meta, Date.now(), forwardStallMs(this.config));
    if (!failed) return meta;
    this.store.saveMeta(failed);
    // The alarm that drove forwarding is gone: bring back the one that removes the session at expiry.
    this.ctx.storage.setAlarm(Math.min(failed.expiresAt, failed.removeStagedAt ?? Infinity)).catch(() => {});
    return failed;
  }

  private readyToForward(tokenHash: string): Outcome<SessionMeta> {
    const open = this.open(tokenHash, true);
    if (!open.ok) return open;
    const problem = notReadyToForward(this.store);
    return problem ? refuse(409, problem) : open;
  }

  private open(tokenHash: string, writable: boolean): Outcome<SessionMeta> {
    const meta = this.current();
    if (!meta || !sameHash(meta.tokenHash, tokenHash) || Date.now() >= meta.expiresAt) {
      return refuse(404, "there is no upload session at this URL (it may have expired or been deleted): ask for a new one with the create_dataset_upload tool");
    }
    if (writable && meta.state === "forwarding") return refuse(409, "the dataset is being sent to the toolkit: wait for it to finish (GET the session URL shows progress)");
    if (writable && meta.state === "complete") return refuse(409, "this dataset has already been delivered to the toolkit: create a new upload session for more files");
    return done(meta);
  }

  /**
   * The size and count rules again, with the real size of a file that has arrived: files come
   * in parallel and nothing is reserved at beginFile, and a zip entry's size is known only
   * once it is unpacked.
   */
  private overLimit(meta: SessionMeta, name: string, size: number): string | undefined {
    const kind = uploadKind(name);
    if (kind !== "image" && kind !== "zip") return undefined;
    return limitProblem(this.store.admission(name, kind, size, 0, true), sessionLimits(meta, this.config));
  }

  /** Refuses a file whose bytes are already in R2: they are deleted with its row. */
  private async refuseStaged(meta: SessionMeta, name: string, reason: string, status = 413): Promise<Outcome<never>> {
    await this.env.STAGING.delete(stagedKey(meta.prefix, name));
    this.store.deleteFile(name);
    return this.rejected(name, status, reason);
  }

  /**
   * Another image with this one's stem (names.ts, stemClash). When a file is declared, any
   * other image counts, even one still arriving; when its bytes have arrived, only images
   * that arrived before it, so of two sent at once the one that finishes second is refused.
   */
  private stemClash(name: string, arrived: boolean): string | undefined {
    const others = this.store.filesWithStem(stemOf(name)).filter((row) => !arrived || row.state !== "receiving");
    return stemClash(name, others.map((row) => row.name));
  }

  private rejected(name: string, status: number, reason: string): Outcome<never> {
    this.store.reject(name, reason);
    return refuse(status, reason);
  }

  private multipartFor(name: string, key: string, existing: string | null): Promise<string> {
    if (existing) return Promise.resolve(existing);
    let pending = this.creating.get(name);
    if (!pending) {
      pending = this.env.STAGING.createMultipartUpload(key).then((upload) => {
        this.store.clearParts(name);
        this.store.putFile({ name, size: 0, state: "receiving", upload_id: upload.uploadId, format: null });
        return upload.uploadId;
      });
      pending.finally(() => this.creating.delete(name)).catch(() => {});
      this.creating.set(name, pending);
    }
    return pending;
  }

  private async schedule(): Promise<void> {
    const meta = this.store.meta();
    if (!meta) return;
    const at = meta.state === "forwarding" ? Date.now() : Math.min(meta.expiresAt, meta.removeStagedAt ?? Infinity);
    await this.ctx.storage.setAlarm(at);
  }
}
