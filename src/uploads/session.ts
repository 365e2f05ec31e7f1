import { DurableObject } from "cloudflare:workers";
import { HOUR_MS } from "../common";
import { readConfig, type Config } from "../config";
import { upstreamFor } from "../toolkit/select";
import type { Upstream } from "../toolkit/upstream";
import { autoForwardable, autoForwardDue, resendRecaptioned } from "./auto-forward";
import { captionListProblem, type CaptionEntry, type CaptionSource } from "./captions";
import { SessionFiles, type FileStatus, type OpenSession } from "./files";
import { forwardStallMs, forwardStep, notReadyToForward, stalled } from "./forward";
import { buildManifest, sessionLimits } from "./manifest";
import { LEASE_MS, releaseLease, renewLease, type Lease } from "./leases";
import { sanitizeFilename, stemOf, type UploadKind } from "./rules";
import { SessionStore, type PartRow } from "./store";
import {
  beginTusPatch,
  createTus,
  finishTus,
  recordTusStep,
  terminateTus,
  tusStateOf,
  type TusStep,
} from "./receive/tus";
import {
  done,
  refuse,
  type FileTarget,
  type Manifest,
  type NewSession,
  type Outcome,
  type SessionMeta,
  type TusState,
} from "./types";

/**
 * One dataset upload: which files and parts arrived, their captions, and how forwarding to
 * the toolkit is going. Bytes never pass through here (routes stream them to R2 directly);
 * this object only keeps the books, so every request is small and serialised. It is named
 * by the hash of its URL's token, and only the Worker can address it, so reaching it at all
 * is the proof of the token: its methods take no credential. The logic lives with its
 * concept (files.ts, receive/tus.ts, forward.ts); this class is the RPC surface.
 */
export class UploadSession extends DurableObject<Env> {
  private readonly store: SessionStore;
  private readonly files: SessionFiles;
  /** True while a forwarding step runs in this instance: it is alive, whatever the clock says. */
  private stepping = false;
  /** Stems whose image or caption changed since the running step began (see forwardStep). */
  private readonly changed = new Set<string>();
  /** Public so tests can swap in a scripted toolkit or smaller limits. */
  config: Config;
  upstream: Upstream;
  /** How long a write lease lives unrenewed (see leases.ts); public so tests can shorten it. */
  leaseMs = LEASE_MS;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new SessionStore(ctx.storage);
    this.files = new SessionFiles(this.store, env.STAGING);
    this.config = readConfig(env);
    this.upstream = upstreamFor(this.config, env);
  }

  async create(init: NewSession): Promise<Manifest> {
    const now = Date.now();
    const { autoForward, ...rest } = init;
    const meta: SessionMeta = {
      ...rest,
      ...(autoForward ? { autoForward: true } : {}),
      prefix: `uploads/${init.tokenHash.slice(0, 32)}/`,
      createdAt: now,
      expiresAt: now + this.config.UPLOAD_SESSION_TTL_HOURS * HOUR_MS,
      state: "open",
      forward: { batchesTotal: 0, batchesDone: 0, filesSent: 0, bytesSent: 0 },
    };
    this.store.saveMeta(meta);
    await this.store.setAlarm(meta.expiresAt);
    return buildManifest(meta, this.store, this.config, this.upstream);
  }

  async manifest(): Promise<Outcome<Manifest>> {
    const open = this.open(false);
    return open.ok ? done(buildManifest(open.value.meta, this.store, this.config, this.upstream)) : open;
  }

  /** The session's size and count limits, without building the whole manifest. */
  async limits(): Promise<Outcome<Manifest["limits"]>> {
    const open = this.open(false);
    return open.ok ? done(open.value.limits) : open;
  }

  /** Admits a file before its bytes come (files.ts); with `part`, the request gets that part's lease. */
  async beginFile(rawName: string, size: number, mode: "whole" | "part", part?: number): Promise<Outcome<FileTarget>> {
    const open = this.open(true);
    return open.ok ? this.files.begin(open.value, rawName, size, mode, part, this.leaseMs) : open;
  }

  /** Keeps a write lease alive (its holder calls this while it streams); refused once the lease is lost. */
  async renewLease(lease: Lease): Promise<Outcome<null>> {
    const open = this.open(false);
    return open.ok ? renewLease(this.store, lease, Date.now()) : open;
  }

  /** Ends a write lease, however its request ended. */
  async releaseLease(lease: Lease): Promise<Outcome<null>> {
    const open = this.open(false);
    if (open.ok) releaseLease(this.store, lease);
    return open.ok ? done(null) : open;
  }

  async recordWhole(name: string, size: number, format: string | null): Promise<Outcome<null>> {
    const open = this.open(true);
    if (!open.ok) return open;
    this.changed.add(stemOf(name));
    return this.afterArrival(await this.files.recordWhole(open.value, name, size, format));
  }

  /** Records a part its request stored in R2 while holding the part's lease. */
  async recordPart(name: string, part: PartRow, format: string | null, lease: Lease): Promise<Outcome<null>> {
    const open = this.open(true);
    return open.ok ? this.files.recordPart(name, part, format, lease) : open;
  }

  async fileStatus(rawName: string): Promise<Outcome<FileStatus>> {
    const open = this.open(false);
    return open.ok ? this.files.status(rawName) : open;
  }

  /** Joins the parts of a file into one R2 object (files.ts); `own` is the caller's lease, if any. */
  async completeFile(
    rawName: string,
    own?: Lease,
  ): Promise<Outcome<{ name: string; kind: UploadKind; key: string; size: number }>> {
    const open = this.open(true);
    if (!open.ok) return open;
    this.changed.add(stemOf(sanitizeFilename(rawName) ?? rawName));
    return this.afterArrival(await this.files.complete(open.value, rawName, own));
  }

  async tusCreate(rawName: string, length: number): Promise<Outcome<{ name: string }>> {
    const open = this.open(true);
    return open.ok ? createTus(this.files, this.store, open.value, rawName, length, this.leaseMs) : open;
  }

  async tusState(rawName: string): Promise<Outcome<TusState>> {
    const open = this.open(false);
    return open.ok ? tusStateOf(this.store, open.value.meta.prefix, rawName) : open;
  }

  async tusBegin(rawName: string, offset: number): Promise<Outcome<{ state: TusState; lease: Lease }>> {
    const open = this.open(true);
    return open.ok ? beginTusPatch(this.store, open.value.meta.prefix, rawName, offset, this.leaseMs) : open;
  }

  async tusProgress(name: string, step: TusStep, lease: Lease): Promise<Outcome<null>> {
    const open = this.open(true);
    return open.ok ? recordTusStep(this.store, name, step, lease) : open;
  }

  async tusFinish(name: string, lease: Lease): Promise<Outcome<{ name: string; size: number }>> {
    const open = this.open(true);
    if (!open.ok) return open;
    this.changed.add(stemOf(name));
    return this.afterArrival(await finishTus(this.files, this.store, open.value, name, lease));
  }

  async tusTerminate(rawName: string): Promise<Outcome<null>> {
    const open = this.open(true);
    return open.ok ? terminateTus(this.files, this.store, open.value.meta.prefix, rawName) : open;
  }

  async rejectFile(name: string, reason: string): Promise<Outcome<null>> {
    const open = this.open(true);
    if (!open.ok) return open;
    this.changed.add(stemOf(name));
    await this.files.reject(open.value.meta.prefix, name, reason);
    return done(null);
  }

  async removeFile(rawName: string): Promise<Outcome<null>> {
    const open = this.open(true);
    if (!open.ok) return open;
    this.changed.add(stemOf(sanitizeFilename(rawName) ?? rawName));
    await this.files.remove(open.value.meta.prefix, sanitizeFilename(rawName) ?? rawName);
    return done(null);
  }

  async setCaptions(entries: CaptionEntry[], source: CaptionSource): Promise<Outcome<{ captions: number }>> {
    const open = this.open(true);
    if (!open.ok) return open;
    const problem = captionListProblem(entries, this.config.UPLOAD_CAPTION_MAX_CHARS);
    if (problem) return refuse(400, problem);
    resendRecaptioned(this.store, entries);
    for (const entry of entries) {
      this.changed.add(entry.stem);
      this.store.putCaption(entry.stem, entry.text, source);
    }
    return this.afterArrival(done({ captions: entries.length }));
  }

  /** Starts forwarding in the background (an alarm), so closing the page does not stop it. */
  async finalize(): Promise<Outcome<Manifest>> {
    const ready = this.startForwarding();
    if (!ready.ok) return ready;
    await this.store.setAlarm(Date.now());
    return this.manifest();
  }

  /** Forwards now and answers when done: upload_dataset's inline images go this way. */
  async forwardNow(): Promise<Outcome<Manifest>> {
    const ready = this.startForwarding();
    if (!ready.ok) return ready;
    while (await this.step("finalize"));
    await this.schedule();
    return this.manifest();
  }

  async abandon(): Promise<Outcome<null>> {
    const open = this.open(false);
    if (!open.ok) return open;
    if (open.value.meta.state === "forwarding")
      return refuse(
        409,
        "the dataset is being sent to the toolkit right now: wait for it to finish, then delete the session",
      );
    await this.files.removeAll(open.value.meta.prefix);
    await this.store.deleteAlarm();
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
      await this.store.setAlarm(now + forwardStallMs(this.config) + 1000);
      await this.step("finalize");
      return this.schedule();
    }
    if (meta.state === "open" && now < meta.expiresAt && autoForwardable(this.store, meta).length > 0) {
      // The running step's own schedule() looks again when it ends.
      if (this.stepping) return;
      // Should this invocation die mid-batch, this alarm tries again.
      await this.store.setAlarm(now + forwardStallMs(this.config) + 1000);
      await this.step("auto");
      return this.schedule();
    }
    if (now >= meta.expiresAt) {
      await this.files.removeAll(meta.prefix);
      this.store.forget();
      return;
    }
    // The staged copies of a complete session, kept for UPLOAD_KEEP_STAGED_HOURS.
    if (meta.removeStagedAt !== undefined && now >= meta.removeStagedAt) {
      await this.files.removeAll(meta.prefix);
      this.store.saveMeta({ ...meta, removeStagedAt: undefined });
    }
    await this.schedule();
  }

  private startForwarding(): Outcome<SessionMeta> {
    const open = this.open(true);
    if (!open.ok) return open;
    const problem = notReadyToForward(this.store);
    if (problem) return refuse(409, problem);
    const meta = open.value.meta;
    this.store.saveMeta({
      ...meta,
      state: "forwarding",
      forward: { ...meta.forward, activeAt: Date.now(), error: undefined, errorKind: undefined },
    });
    return done(meta);
  }

  private async step(mode: "finalize" | "auto"): Promise<boolean> {
    this.stepping = true;
    this.changed.clear();
    try {
      return await forwardStep({
        store: this.store,
        files: this.files,
        config: this.config,
        upstream: this.upstream,
        bucket: this.env.STAGING,
        mode,
        changed: this.changed,
      });
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
    this.store.setAlarm(Math.min(failed.expiresAt, failed.removeStagedAt ?? Infinity)).catch(() => {});
    return failed;
  }

  private open(writable: boolean): Outcome<OpenSession> {
    const meta = this.current();
    if (!meta || Date.now() >= meta.expiresAt) {
      return refuse(
        404,
        "there is no upload session at this URL (it may have expired or been deleted): ask for a new one " +
          "with the create_dataset_upload tool",
      );
    }
    if (writable && meta.state === "forwarding")
      return refuse(
        409,
        "the dataset is being sent to the toolkit: wait for it to finish (GET the session URL shows progress)",
      );
    if (writable && meta.state === "complete")
      return refuse(
        409,
        "this dataset has already been delivered to the toolkit: create a new upload session for more files",
      );
    return done({ meta, limits: sessionLimits(meta, this.config, this.upstream) });
  }

  private async schedule(): Promise<void> {
    const meta = this.store.meta();
    if (!meta) return;
    const now = meta.state === "forwarding" || (meta.state === "open" && autoForwardDue(this.store, meta));
    await this.store.setAlarm(now ? Date.now() : Math.min(meta.expiresAt, meta.removeStagedAt ?? Infinity));
  }

  /**
   * After an image or caption arrived: an auto-forward session with something to send starts
   * an early batch now (even after a failed one: each arrival tries once more). A step already
   * running looks again when it ends.
   */
  private async afterArrival<T>(outcome: Outcome<T>): Promise<Outcome<T>> {
    const meta = this.store.meta();
    if (outcome.ok && meta && !this.stepping && autoForwardable(this.store, meta).length > 0)
      await this.store.setAlarm(Date.now());
    return outcome;
  }
}

/** The session's Durable Object, named by the hash of its URL's token (see create.ts). */
export function sessionStub(env: Env, tokenHash: string): DurableObjectStub<UploadSession> {
  return env.UPLOAD_SESSIONS.get(env.UPLOAD_SESSIONS.idFromName(tokenHash));
}
