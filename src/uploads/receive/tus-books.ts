import { sanitizeFilename, stagedKey } from "../rules";
import type { PartRow, SessionStore } from "../store";
import { done, refuse, type Outcome, type TusState } from "../types";

/**
 * The tus bookkeeping of an upload session: where an upload stands and what one PATCH
 * stored. Plain functions over the session's store, called from the UploadSession object
 * (which serialises them), so the object itself stays a thin RPC surface. Only the PATCH
 * holding the upload's lease records anything (see leases.ts).
 */

/** What one PATCH stored. */
export interface TusStep {
  part?: PartRow;
  tail: number;
  format: string | null;
}

export function tusStateOf(store: SessionStore, prefix: string, rawName: string): Outcome<TusState> {
  const name = sanitizeFilename(rawName) ?? rawName;
  const row = store.file(name);
  const tus = store.tus(name);
  const key = stagedKey(prefix, name);
  if (row && row.state !== "receiving") return done({ name, key, uploadId: "", length: row.size, offset: row.size, tail: 0, parts: 0, checked: true, finished: true, fileState: row.state });
  if (!row?.upload_id || !tus) return refuse(404, `there is no tus upload of ${name} here: create one with POST .../tus/`);
  const parts = store.parts(name);
  const inParts = parts.reduce((sum, p) => sum + p.size, 0);
  return done({ name, key, uploadId: row.upload_id, length: tus.length, offset: inParts + tus.tail, tail: tus.tail, parts: parts.length, checked: row.format !== null, finished: false, fileState: row.state });
}

export function recordTusStep(store: SessionStore, name: string, step: TusStep): Outcome<null> {
  const row = store.file(name);
  const tus = store.tus(name);
  if (row?.state !== "receiving" || !tus) return refuse(409, `the tus upload of ${name} was finished or removed meanwhile: HEAD its URL to see where it stands`);
  if (step.part) store.putPart(name, step.part);
  if (step.format !== null && row.format === null) store.putFile({ ...row, format: step.format });
  store.putTus({ ...tus, tail: step.tail });
  return done(null);
}
