import { stagedKey } from "./rules";
import type { SessionStore } from "./store";
import type { SessionMeta } from "./types";

/** Where a tus upload keeps the bytes that do not yet fill a whole part (under the session's prefix, so removeStaged takes it too). */
export function tusTailKey(key: string): string {
  return `${key}.tus-tail`;
}

/** Removes one file of a session: its staged object, or its unfinished multipart upload, and its row. */
export async function dropFile(bucket: R2Bucket, store: SessionStore, prefix: string, name: string): Promise<void> {
  const row = store.file(name);
  if (!row) return;
  const key = stagedKey(prefix, name);
  if (row.state === "receiving" && row.upload_id) {
    await bucket.resumeMultipartUpload(key, row.upload_id).abort().catch(() => {});
    if (store.tus(name)) await bucket.delete(tusTailKey(key));
  } else await bucket.delete(key);
  store.deleteFile(name);
}

/** Removes every staged object and abandons unfinished multipart uploads of a session. */
export async function removeStaged(bucket: R2Bucket, store: SessionStore, prefix: string): Promise<void> {
  for (const row of store.files()) {
    if (row.state === "receiving" && row.upload_id) {
      await bucket.resumeMultipartUpload(stagedKey(prefix, row.name), row.upload_id).abort().catch(() => {});
    }
  }
  let cursor: string | undefined;
  do {
    const listed = await bucket.list({ prefix, cursor, limit: 1000 });
    if (listed.objects.length > 0) await bucket.delete(listed.objects.map((object) => object.key));
    cursor = listed.truncated ? listed.cursor : undefined;
  } while (cursor);
}

/**
 * Removes what is due at `now`: the whole session past its expiry (true: it is gone), or the
 * staged copies of a complete session kept for UPLOAD_KEEP_STAGED_HOURS.
 */
export async function removeDue(bucket: R2Bucket, store: SessionStore, meta: SessionMeta, now: number): Promise<boolean> {
  if (now >= meta.expiresAt) {
    await removeStaged(bucket, store, meta.prefix);
    store.forget();
    return true;
  }
  if (meta.removeStagedAt !== undefined && now >= meta.removeStagedAt) {
    await removeStaged(bucket, store, meta.prefix);
    store.saveMeta({ ...meta, removeStagedAt: undefined });
  }
  return false;
}
