import type { CaptionEntry } from "./captions";
import { stemOf, uploadKind } from "./rules";
import type { FileRow, SessionStore } from "./store";
import type { SessionMeta } from "./types";

/**
 * Auto-forward (create_dataset_upload's `auto_forward: true`): an open session sends images to
 * the toolkit while the rest still upload, instead of all of them after finalize, so receiving
 * and forwarding overlap. The guarantees of finalize stay:
 *
 * - Only an image whose caption is already set (before it, or with it: a caption PUT, a .txt,
 *   captions.json/.csv, tus metadata) goes early. An image without one waits for finalize,
 *   since its .txt may still be on its way and the default caption would then be wrong.
 * - A caption that changes after its image was sent puts the image back to "staged": it is sent
 *   again (image and caption; the toolkit replaces both), so the toolkit always ends with the
 *   last caption. An image or caption that changes while its batch is in flight is likewise not
 *   marked sent (the session keeps a set of such stems for the step; see forwardStep).
 * - A failed early batch leaves its images staged and the error in the manifest; the session
 *   stays open, the next arrival tries once more, and finalize re-sends whatever is not
 *   confirmed, then checks the toolkit's image count as always.
 */

/** Staged images an open auto-forward session may send now, in upload order. */
export function autoForwardable(store: SessionStore, meta: SessionMeta): FileRow[] {
  if (!meta.autoForward || meta.state !== "open") return [];
  return store
    .files()
    .filter(
      (f) => f.state === "staged" && uploadKind(f.name) === "image" && store.caption(stemOf(f.name)) !== undefined,
    );
}

/** Whether an early batch should start right away: something to send, and the last attempt did not fail. */
export function autoForwardDue(store: SessionStore, meta: SessionMeta): boolean {
  return meta.forward.error === undefined && autoForwardable(store, meta).length > 0;
}

/**
 * Images already sent whose caption `entries` change: back to "staged", so the next batch
 * (early, or finalize's) carries the new caption to the toolkit. Call before storing the entries.
 */
export function resendRecaptioned(store: SessionStore, entries: readonly CaptionEntry[]): void {
  const changed = new Set(entries.filter((e) => store.caption(e.stem)?.text !== e.text).map((e) => e.stem));
  if (changed.size === 0) return;
  const sent = store
    .files()
    .filter((f) => f.state === "sent" && uploadKind(f.name) === "image" && changed.has(stemOf(f.name)));
  store.setFileState(
    sent.map((f) => f.name),
    "staged",
  );
}
