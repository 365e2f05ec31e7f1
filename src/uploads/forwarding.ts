import type { Config } from "../config";
import type { ToolkitClient } from "../toolkit/bridge/client";
import { effectiveCaption } from "./captions";
import { removeStaged } from "./cleanup";
import { ToolkitError } from "../toolkit/errors";
import { batchTimeoutMs, countedByEveryToolkit, forwardNext, type ForwardImage } from "./forward";
import { stagedKey, stemOf, uploadKind } from "./rules";
import type { SessionStore } from "./store";
import type { SessionMeta } from "./types";

const HOUR = 3600_000;

/**
 * How long a session may stay "forwarding" without a step starting or finishing before it
 * is declared stalled: the time-out of the largest batch plus room for the final check and
 * alarm delays. Past it the alarm that drove forwarding is gone (its invocation was killed
 * and its retries used up), so nothing would ever move the session on.
 */
export function forwardStallMs(config: Pick<Config, "TOOLKIT_TIMEOUT_MS" | "UPLOAD_BATCH_MAX_BYTES">): number {
  return batchTimeoutMs(config, config.UPLOAD_BATCH_MAX_BYTES) + 5 * 60_000;
}

/** What a failed step's error ends with: how the session's owner retries. */
export const RETRY_BY_FINALIZE = "(finalize again to retry; only files not yet confirmed are re-sent)";

export interface ForwardingContext {
  store: SessionStore;
  bucket: R2Bucket;
  config: Config;
  toolkit: ToolkitClient;
}

/**
 * One step of a session's forwarding (one batch, or the final check), with its books: files
 * the toolkit confirmed are marked sent and the progress saved before the next step, so a
 * step cut short repeats at most its own batch. Returns true when another step should follow.
 */
export async function forwardStep({ store, bucket, config, toolkit }: ForwardingContext): Promise<boolean> {
  const meta = store.meta();
  if (!meta || meta.state !== "forwarding") return false;
  const images = store.files().filter((f) => uploadKind(f.name) === "image" && f.state !== "receiving");
  const pending: ForwardImage[] = images
    .filter((f) => f.state === "staged")
    .map((f) => ({ name: f.name, size: f.size, key: stagedKey(meta.prefix, f.name), caption: captionFor(store, meta, f.name) }));
  store.saveMeta({ ...meta, forward: { ...meta.forward, activeAt: Date.now() } });
  try {
    const step = await forwardNext({
      config,
      toolkit,
      bucket,
      datasetName: meta.datasetName,
      pending,
      expectedImages: images.filter((f) => countedByEveryToolkit(f.name)).length,
      progress: meta.forward,
    });
    const latest = store.meta() ?? meta;
    if (step.kind === "batch") {
      store.setFileState(step.sent.map((image) => image.name), "sent");
      store.saveMeta({ ...latest, forward: { ...step.progress, activeAt: Date.now() } });
      return latest.state === "forwarding";
    }
    const keepHours = config.UPLOAD_KEEP_STAGED_HOURS;
    const complete: SessionMeta = { ...latest, state: "complete", forward: step.progress };
    if (keepHours > 0) complete.removeStagedAt = Date.now() + keepHours * HOUR;
    else await removeStaged(bucket, store, meta.prefix);
    store.saveMeta(complete);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const latest = store.meta() ?? meta;
    const errorKind = error instanceof ToolkitError ? error.kind : undefined;
    store.saveMeta({ ...latest, state: "failed", forward: { ...latest.forward, error: `${message} ${RETRY_BY_FINALIZE}`, errorKind } });
  }
  return false;
}

/** Why the session's files cannot be forwarded yet, or undefined when they can. */
export function notReadyToForward(store: SessionStore): string | undefined {
  const files = store.files();
  const receiving = files.filter((f) => f.state === "receiving").map((f) => f.name);
  if (receiving.length > 0) return `some files are still arriving in parts (${receiving.slice(0, 5).join(", ")}): complete them (POST .../files/<name>/complete) or delete them first`;
  if (!files.some((f) => f.state === "staged" && uploadKind(f.name) === "image")) {
    return files.length > 0 ? "every image has already been sent" : "no images have been uploaded yet: add some, then finalize";
  }
  return undefined;
}

/** The session moved to "failed" when its forwarding has stalled (see forwardStallMs), or undefined. */
export function stalled(meta: SessionMeta, now: number, stallMs: number): SessionMeta | undefined {
  if (meta.state !== "forwarding") return undefined;
  const last = meta.forward.activeAt ?? meta.forward.startedAt ?? meta.createdAt;
  if (now - last <= stallMs) return undefined;
  const minutes = Math.round(stallMs / 60_000);
  return {
    ...meta,
    state: "failed",
    forward: {
      ...meta.forward,
      error: `sending to the toolkit stopped making progress (nothing for over ${minutes} minutes, batch ${meta.forward.batchesDone + 1} of ${meta.forward.batchesTotal || "?"} never finished): finalize again to retry; only files not yet confirmed are re-sent`,
    },
  };
}

function captionFor(store: SessionStore, meta: SessionMeta, name: string): string {
  return effectiveCaption(store.caption(stemOf(name))?.text, meta.defaultCaption, meta.triggerWord);
}
