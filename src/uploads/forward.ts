import { errorMessage, HOUR_MS, MINUTE_MS } from "../common";
import type { Config } from "../config";
import { ToolkitError, UploadBodyError } from "../toolkit/errors";
import type { OutgoingImage, Upstream } from "../toolkit/upstream";
import { autoForwardable } from "./auto-forward";
import { planBatches } from "./batches";
import { effectiveCaption } from "./captions";
import type { SessionFiles } from "./files";
import { stagedKey, stemOf, uploadKind } from "./rules";
import type { SessionStore } from "./store";
import type { ForwardProgress, SessionMeta } from "./types";

/**
 * Where an upload gets forwarded to the toolkit. finalize (or upload_dataset's inline images)
 * puts a session in "forwarding"; its Durable Object then takes one step at a time
 * (forwardStep): one batch of staged images (batches.ts plans them, the upstream measures and
 * sends them as a streamed body), then, once every image is there, a check of the dataset's
 * image count. A session whose steps stop is found
 * stalled and marked failed; finalize again re-sends only what has not arrived.
 */

// One step: a batch, or the final check.

/**
 * The slowest a batch body may cross to the toolkit (the home connection's download speed),
 * in bytes per second: 250 kB/s is 2 Mbit/s.
 */
export const BATCH_MIN_BYTES_PER_SECOND = 250_000;

/**
 * The one place a batch's time-out comes from: the per-call TOOLKIT_TIMEOUT_MS for the
 * toolkit to answer, plus one second per BATCH_MIN_BYTES_PER_SECOND of body to carry it
 * there. With the defaults a full 90 MB batch gets 390 s; upload_dataset's inline images (one
 * MCP request, under 4 MiB) under 50 s, so the tool answers before an MCP client gives up.
 */
export function batchTimeoutMs(config: Pick<Config, "TOOLKIT_TIMEOUT_MS">, bodyBytes: number): number {
  return config.TOOLKIT_TIMEOUT_MS + Math.ceil(bodyBytes / BATCH_MIN_BYTES_PER_SECOND) * 1000;
}

export interface ForwardImage {
  name: string;
  size: number;
  caption: string;
  key: string;
}

export interface ForwardDeps {
  config: Config;
  upstream: Upstream;
  bucket: R2Bucket;
  datasetName: string;
  /** Images not yet confirmed by the toolkit, in upload order. */
  pending: ForwardImage[];
  /** Images of the whole session, for the final check. */
  expectedImages: number;
  progress: ForwardProgress;
}

/** What one step of forwarding did: sent one batch (more may follow), or found every image there. */
export type ForwardStep =
  { kind: "batch"; sent: ForwardImage[]; progress: ForwardProgress } | { kind: "complete"; progress: ForwardProgress };

/**
 * Takes one step towards the toolkit having the dataset: sends the first batch of what has
 * not arrived yet or, when everything has, asks the toolkit's dataset list whether it has every
 * image. One batch per step keeps each alarm invocation within its limits; the caller
 * records the batch as sent before the next step. Each R2 object is opened only when the
 * body reaches it, so memory does not grow with the batch. Throws a ToolkitError (or Error) whose message says
 * what to do; batches already confirmed stay confirmed, so finalize again re-sends only the rest.
 */
export async function forwardNext(deps: ForwardDeps): Promise<ForwardStep> {
  const { config, upstream, bucket, datasetName } = deps;
  const sources = deps.pending.map((image) => ({ ...image, filename: image.name }));
  const batches = planBatches(datasetName, sources, config.UPLOAD_BATCH_MAX_BYTES, upstream);
  const progress: ForwardProgress = {
    ...deps.progress,
    batchesTotal: deps.progress.batchesDone + batches.length,
    startedAt: deps.progress.startedAt ?? Date.now(),
    error: undefined,
    errorKind: undefined,
  };
  const batch = batches[0];
  if (!batch)
    return { kind: "complete", progress: await checkArrived(upstream, datasetName, deps.expectedImages, progress) };
  const images: OutgoingImage[] = batch.images.map((image) => ({
    filename: image.name,
    caption: image.caption,
    size: image.size,
    open: () => openStaged(bucket, image.key, image.name),
  }));
  const length = batch.bodyBytes;
  const what =
    `batch ${progress.batchesDone + 1} of ${progress.batchesTotal} (${batch.images.length} images, ${length} ` +
    `bytes)`;
  const result = await upstream.sendBatch(datasetName, images, { timeoutMs: batchTimeoutMs(config, length) });
  if (result.saved !== batch.images.length) {
    throw new ToolkitError(
      "tool",
      `the toolkit saved only ${result.saved} of the ${batch.images.length} images in ${what}: ` +
        `check its disk space and console, then finalize again`,
    );
  }
  progress.toolkitPath = result.path;
  progress.batchesDone += 1;
  progress.filesSent += batch.images.length;
  progress.bytesSent += batch.images.reduce((sum, image) => sum + image.size, 0);
  return { kind: "batch", sent: batch.images, progress };
}

async function checkArrived(
  upstream: Upstream,
  datasetName: string,
  expectedImages: number,
  progress: ForwardProgress,
): Promise<ForwardProgress> {
  const listed = await upstream.listDatasets();
  const entry = listed.find((dataset) => dataset.name === datasetName);
  const toolkitImages = entry?.images ?? 0;
  if (toolkitImages < expectedImages) {
    throw new ToolkitError(
      "tool",
      `after sending every batch the toolkit lists ${toolkitImages} images in ${datasetName}, expected at ` +
        `least ${expectedImages}: check the toolkit's datasets folder and disk space, then finalize again`,
    );
  }
  return { ...progress, toolkitImages, finishedAt: Date.now() };
}

/** A staged copy gone from R2: the body stops with this, and it says more than the broken request. */
class StagedCopyMissing extends UploadBodyError {}

async function openStaged(bucket: R2Bucket, key: string, name: string): Promise<ReadableStream<Uint8Array>> {
  const object = await bucket.get(key);
  if (!object)
    throw new StagedCopyMissing(
      `the staged copy of ${name} is missing from R2 (expired or removed): upload ${name} again, then finalize`,
    );
  return object.body;
}

/**
 * The bridge's list_datasets counts *.png and *.jpg (the original) or also .jpeg and .webp
 * (newer servers), the UI every image; the check counts only what every one counts.
 */
export function countedByEveryToolkit(name: string): boolean {
  return /\.(png|jpg)$/.test(name);
}

// The session's books around each step.

/**
 * How long a session may stay "forwarding" without a step starting or finishing before it
 * is declared stalled: the time-out of the largest batch plus room for the final check and
 * alarm delays. Past it the alarm that drove forwarding is gone (its invocation was killed
 * and its retries used up), so nothing would ever move the session on.
 */
export function forwardStallMs(config: Pick<Config, "TOOLKIT_TIMEOUT_MS" | "UPLOAD_BATCH_MAX_BYTES">): number {
  return batchTimeoutMs(config, config.UPLOAD_BATCH_MAX_BYTES) + 5 * MINUTE_MS;
}

/** What a failed step's error ends with: how the session's owner retries. */
export const RETRY_BY_FINALIZE = "(finalize again to retry; only files not yet confirmed are re-sent)";

/** What a failed early batch's error ends with: nothing is lost, finalize sends it again. */
export const RESEND_AT_FINALIZE =
  "(the upload goes on: the next image tries again, and finalize re-sends every image not yet confirmed)";

export interface ForwardingContext {
  store: SessionStore;
  files: SessionFiles;
  bucket: R2Bucket;
  config: Config;
  upstream: Upstream;
  /**
   * "auto": an early batch of an open auto-forward session (auto-forward.ts): captioned images
   * only, no final check, and a failure is recorded without ending the session.
   */
  mode?: "finalize" | "auto";
  /**
   * Stems whose image or caption changed while the step ran (the session fills it): their
   * images are not marked sent, so they go again with what they are now.
   */
  changed?: ReadonlySet<string>;
}

/**
 * One step of a session's forwarding (one batch, or the final check), with its books: files
 * the toolkit confirmed are marked sent and the progress saved before the next step, so a
 * step cut short repeats at most its own batch. Returns true when another step should follow.
 */
export async function forwardStep(context: ForwardingContext): Promise<boolean> {
  const { store, files, bucket, config, upstream } = context;
  const auto = context.mode === "auto";
  const meta = store.meta();
  if (!meta || meta.state !== (auto ? "open" : "forwarding")) return false;
  const images = store.files().filter((f) => uploadKind(f.name) === "image" && f.state !== "receiving");
  const toSend = auto ? autoForwardable(store, meta) : images.filter((f) => f.state === "staged");
  if (auto && toSend.length === 0) return false;
  const pending: ForwardImage[] = toSend.map((f) => ({
    name: f.name,
    size: f.size,
    key: stagedKey(meta.prefix, f.name),
    caption: captionFor(store, meta, f.name),
  }));
  store.saveMeta({ ...meta, forward: { ...meta.forward, activeAt: Date.now() } });
  try {
    const step = await forwardNext({
      config,
      upstream,
      bucket,
      datasetName: meta.datasetName,
      pending,
      expectedImages: images.filter((f) => countedByEveryToolkit(f.name)).length,
      progress: meta.forward,
    });
    const latest = store.meta() ?? meta;
    if (step.kind === "batch") {
      // Only what is still the file and caption that went: a replaced image or a new caption goes again.
      const confirmed = step.sent.filter(
        (image) => !context.changed?.has(stemOf(image.name)) && store.file(image.name)?.state === "staged",
      );
      store.setFileState(
        confirmed.map((image) => image.name),
        "sent",
      );
      store.saveMeta({ ...latest, forward: { ...step.progress, activeAt: Date.now() } });
      return latest.state === "forwarding";
    }
    const keepHours = config.UPLOAD_KEEP_STAGED_HOURS;
    const complete: SessionMeta = { ...latest, state: "complete", forward: step.progress };
    if (keepHours > 0) complete.removeStagedAt = Date.now() + keepHours * HOUR_MS;
    else await files.removeAll(meta.prefix);
    store.saveMeta(complete);
  } catch (error) {
    const message = errorMessage(error);
    const latest = store.meta() ?? meta;
    const errorKind = error instanceof ToolkitError ? error.kind : undefined;
    if (auto) {
      // The upload goes on; finalize (already called, if the state moved on) re-sends the batch.
      if (latest.state === "open")
        store.saveMeta({
          ...latest,
          forward: { ...latest.forward, error: `${message} ${RESEND_AT_FINALIZE}`, errorKind },
        });
      return latest.state === "forwarding";
    }
    store.saveMeta({
      ...latest,
      state: "failed",
      forward: { ...latest.forward, error: `${message} ${RETRY_BY_FINALIZE}`, errorKind },
    });
  }
  return false;
}

/** Why the session's files cannot be forwarded yet, or undefined when they can. */
export function notReadyToForward(store: SessionStore): string | undefined {
  const files = store.files();
  const receiving = files.filter((f) => f.state === "receiving").map((f) => f.name);
  if (receiving.length > 0)
    return (
      `some files are still arriving in parts (${receiving.slice(0, 5).join(", ")}): complete them (POST ` +
      `.../files/<name>/complete) or delete them first`
    );
  // Every image already sent (auto-forward, or a final check that failed) still needs the check.
  if (!files.some((f) => f.state !== "receiving" && uploadKind(f.name) === "image"))
    return "no images have been uploaded yet: add some, then finalize";
  return undefined;
}

/** The session moved to "failed" when its forwarding has stalled (see forwardStallMs), or undefined. */
export function stalled(meta: SessionMeta, now: number, stallMs: number): SessionMeta | undefined {
  if (meta.state !== "forwarding") return undefined;
  const last = meta.forward.activeAt ?? meta.forward.startedAt ?? meta.createdAt;
  if (now - last <= stallMs) return undefined;
  const minutes = Math.round(stallMs / MINUTE_MS);
  return {
    ...meta,
    state: "failed",
    forward: {
      ...meta.forward,
      error:
        `sending to the toolkit stopped making progress (nothing for over ${minutes} minutes, batch ` +
        `${meta.forward.batchesDone + 1} of ${meta.forward.batchesTotal || "?"} never finished): finalize ` +
        `again to retry; only files not yet confirmed are re-sent`,
    },
  };
}

function captionFor(store: SessionStore, meta: SessionMeta, name: string): string {
  return effectiveCaption(store.caption(stemOf(name))?.text, meta.defaultCaption, meta.triggerWord);
}
