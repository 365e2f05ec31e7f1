import { PartWriter } from "../../r2/multipart";
import type { OpenSession, SessionFiles } from "../files";
import {
  busyProblem,
  grantLease,
  holdsLease,
  LeaseHolder,
  lostProblem,
  othersWriting,
  releaseLease,
  settledProblem,
  TUS_SLOT,
  type Lease,
} from "../leases";
import { IMAGE_HEAD_BYTES, imageProblem, sanitizeFilename, sniffImage, stagedKey, uploadKind } from "../rules";
import { sessionStub } from "../session";
import type { PartRow, SessionStore } from "../store";
import { done, refuse, type Outcome, type TusState } from "../types";

/**
 * tus uploads (the protocol's routes are in tus-routes.ts). A PATCH body comes in any size
 * and R2 wants equal parts, so the Worker regroups the bytes into parts of TUS_PART_BYTES and
 * keeps the bytes short of a part in a tail object, which the next PATCH takes up first. The
 * session keeps the books (functions below, called from the UploadSession object, which
 * serialises them): the upload's declared length, its parts and the tail's length. Only the
 * PATCH holding the upload's lease records anything (see leases.ts).
 */

/**
 * The size of every tus part but the last: R2's rules want them equal and at least 5 MiB;
 * it is also the most a PATCH holds in memory.
 */
export const TUS_PART_BYTES = 8 * 1024 * 1024;

/**
 * Where a tus upload keeps the bytes that do not yet fill a whole part (under the session's prefix, so removing the
 * session takes it too).
 */
export function tusTailKey(key: string): string {
  return `${key}.tus-tail`;
}

/** What one PATCH stored. */
export interface TusStep {
  part?: PartRow;
  tail: number;
  format: string | null;
}

// The session's books.

/**
 * tus creation: the file is admitted as a first part would be, against its whole declared
 * length, and starts over if an earlier tus upload of the same name was left unfinished.
 */
export async function createTus(
  files: SessionFiles,
  store: SessionStore,
  open: OpenSession,
  rawName: string,
  length: number,
  leaseMs: number,
): Promise<Outcome<{ name: string }>> {
  const name = sanitizeFilename(rawName);
  const kind = name === undefined ? undefined : uploadKind(name);
  if (name !== undefined && kind !== undefined && kind !== "image")
    return refuse(415, `tus takes images only: send ${name} with PUT .../files/${name}`);
  const writing = name === undefined ? undefined : othersWriting(store, name, Date.now())[0];
  if (writing) return refuse(409, busyProblem(writing, Date.now()));
  if (name !== undefined && store.file(name)?.state === "receiving") await files.remove(open.meta.prefix, name);
  const target = await files.begin(open, rawName, length, "part", undefined, leaseMs);
  if (!target.ok) return target;
  store.putTus({ name: target.value.name, length, tail: 0 });
  return done({ name: target.value.name });
}

/** Where a tus upload stands; a file already staged reports itself complete, so a client resuming it stops. */
export function tusStateOf(store: SessionStore, prefix: string, rawName: string): Outcome<TusState> {
  const name = sanitizeFilename(rawName) ?? rawName;
  const row = store.file(name);
  const tus = store.tus(name);
  const key = stagedKey(prefix, name);
  if (row && row.state !== "receiving")
    return done({
      name,
      key,
      uploadId: "",
      length: row.size,
      offset: row.size,
      tail: 0,
      parts: 0,
      checked: true,
      finished: true,
      fileState: row.state,
    });
  if (!row?.upload_id || !tus)
    return refuse(404, `there is no tus upload of ${name} here: create one with POST .../tus/`);
  const parts = store.parts(name);
  const inParts = parts.reduce((sum, p) => sum + p.size, 0);
  return done({
    name,
    key,
    uploadId: row.upload_id,
    length: tus.length,
    offset: inParts + tus.tail,
    tail: tus.tail,
    parts: parts.length,
    checked: row.format !== null,
    finished: false,
    fileState: row.state,
  });
}

/**
 * A PATCH about to store bytes: where the upload stands, and the lease on it, granted only
 * when no other PATCH holds it and the client's offset is the stored one. Nothing is written
 * before this answers, so a refused PATCH changes nothing.
 */
export function beginTusPatch(
  store: SessionStore,
  prefix: string,
  rawName: string,
  offset: number,
  leaseMs: number,
): Outcome<{ state: TusState; lease: Lease }> {
  const state = tusStateOf(store, prefix, rawName);
  if (!state.ok) return state;
  const s = state.value;
  if (s.finished) return refuse(409, settledProblem({ name: s.name, state: s.fileState, size: s.length }));
  const granted = grantLease(store, s.name, TUS_SLOT, leaseMs, Date.now());
  if (!granted.ok) return granted;
  if (offset !== s.offset) {
    releaseLease(store, granted.value);
    return refuse(
      409,
      `Upload-Offset is ${offset} but ${s.offset} bytes of ${s.name} are stored: HEAD the upload URL and ` +
        `resume from its Upload-Offset`,
    );
  }
  return done({ state: s, lease: granted.value });
}

/** Records what one PATCH stored: maybe a full part, and the bytes now waiting in the tail object. */
export function recordTusStep(store: SessionStore, name: string, step: TusStep, lease: Lease): Outcome<null> {
  if (!holdsLease(store, lease)) return refuse(409, lostProblem(lease));
  const row = store.file(name);
  const tus = store.tus(name);
  if (row?.state !== "receiving" || !tus)
    return refuse(
      409,
      `the tus upload of ${name} was finished or removed meanwhile: HEAD its URL to see where it stands`,
    );
  if (step.part) store.putPart(name, step.part);
  if (step.format !== null && row.format === null) store.putFile({ ...row, format: step.format });
  store.putTus({ ...tus, tail: step.tail });
  return done(null);
}

/** The last bytes of a tus upload are stored: joins its parts and records it like any whole file. */
export async function finishTus(
  files: SessionFiles,
  store: SessionStore,
  open: OpenSession,
  name: string,
  lease: Lease,
): Promise<Outcome<{ name: string; size: number }>> {
  if (!holdsLease(store, lease)) return refuse(409, lostProblem(lease));
  const completed = await files.complete(open, name, lease);
  if (!completed.ok) return completed;
  store.dropTus(name);
  return done({ name, size: completed.value.size });
}

/** tus termination: removes the unfinished upload (its parts and tail). */
export async function terminateTus(
  files: SessionFiles,
  store: SessionStore,
  prefix: string,
  rawName: string,
): Promise<Outcome<null>> {
  const name = sanitizeFilename(rawName) ?? rawName;
  if (!store.tus(name))
    return refuse(404, `there is no unfinished tus upload of ${name} here: GET the session URL to see its files`);
  await files.remove(prefix, name);
  return done(null);
}

// The Worker's side: one PATCH streaming its body to R2.

/** A refusal met while writing a part, carried out of the part writer. */
class PatchRefused extends Error {
  constructor(readonly outcome: Outcome<never>) {
    super(outcome.ok ? "" : outcome.error);
  }
}

/**
 * One tus PATCH: streams the body into R2 parts of TUS_PART_BYTES and keeps what is left over
 * as the tail object, prepended by the next PATCH. The session first grants this PATCH the
 * upload's lease (leases.ts), checking its offset, so a second PATCH at the same time is
 * refused before it writes anything. Each step is recorded by the session only after R2
 * holds its bytes, so a request cut off midway leaves the offset at what is stored and the
 * client resumes from HEAD's Upload-Offset.
 */
export async function patchUpload(
  env: Env,
  tokenHash: string,
  rawName: string,
  offset: number,
  body: ReadableStream<Uint8Array>,
): Promise<Outcome<{ offset: number; length: number }>> {
  const stub = sessionStub(env, tokenHash);
  const begun = await stub.tusBegin(rawName, offset);
  if (!begun.ok) {
    await body.cancel().catch(() => {});
    return begun;
  }
  const holder = new LeaseHolder(stub, begun.value.lease);
  const reader = body.getReader();
  try {
    return await storeBody(env, holder, begun.value.state, reader);
  } catch (error) {
    if (error instanceof PatchRefused) return error.outcome;
    return await holder.explain(error);
  } finally {
    await reader.cancel().catch(() => {});
    await holder.release();
  }
}

async function storeBody(
  env: Env,
  holder: LeaseHolder,
  s: TusState,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<Outcome<{ offset: number; length: number }>> {
  const stub = holder.stub;
  const lease = holder.lease;
  const tailKey = tusTailKey(s.key);
  let tail: Uint8Array | undefined;
  if (s.tail > 0) {
    const stored = await env.STAGING.get(tailKey, { range: { offset: 0, length: s.tail } });
    if (!stored || stored.size < s.tail)
      return refuse(
        409,
        `the stored bytes after the last part of ${s.name} are gone: DELETE this tus upload and start it again`,
      );
    tail = new Uint8Array(await stored.arrayBuffer());
  }
  const upload = env.STAGING.resumeMultipartUpload(s.key, s.uploadId);
  let format: string | null = null;
  // Every write to R2 is made with a lease just renewed, so it cannot land after another PATCH took over.
  const writer = new PartWriter(
    TUS_PART_BYTES,
    async (n, bytes) => {
      if (!(await holder.renew())) throw new PatchRefused(holder.problem());
      const part = await upload.uploadPart(n, bytes);
      const recorded = await stub.tusProgress(
        s.name,
        { part: { n, size: bytes.byteLength, etag: part.etag }, tail: 0, format },
        lease,
      );
      if (!recorded.ok) throw new PatchRefused(recorded);
    },
    { firstPart: s.parts + 1, tail },
  );
  let position = s.offset;
  let checked = s.checked;
  let broken: Outcome<never> | undefined;
  const headBytes = Math.min(IMAGE_HEAD_BYTES, s.length);

  for (;;) {
    if (holder.lost) return holder.problem();
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch {
      broken = refuse(
        400,
        `the request body broke off after byte ${position} of ${s.name}: HEAD the upload URL and resume ` +
          `from its Upload-Offset`,
      );
      break;
    }
    if (next.done) break;
    let chunk = next.value;
    if (position + chunk.byteLength > s.length) {
      broken = refuse(
        400,
        `the body goes past the ${s.length} bytes declared in Upload-Length for ${s.name}: send only the ` +
          `remaining bytes`,
      );
      chunk = chunk.subarray(0, s.length - position);
    }
    if (!checked) {
      // Parts start at the file's first byte, so until one is stored the writer's tail begins
      // with the head: it is checked before any of it reaches R2 (the head is far short of a part).
      const first = chunk.subarray(0, Math.max(0, headBytes - writer.tail.byteLength));
      await writer.write(first);
      position += first.byteLength;
      chunk = chunk.subarray(first.byteLength);
      if (writer.tail.byteLength >= headBytes) {
        const head = writer.tail.subarray(0, IMAGE_HEAD_BYTES);
        checked = true;
        format = sniffImage(head) ?? null;
        const problem = imageProblem(s.name, head);
        if (problem) {
          await stub.rejectFile(s.name, problem);
          return refuse(415, problem);
        }
      }
    }
    await writer.write(chunk);
    position += chunk.byteLength;
    if (broken) break;
  }

  if (position === s.length) {
    await writer.finish();
    const finished = await stub.tusFinish(s.name, lease);
    await env.STAGING.delete(tailKey);
    return finished.ok ? done({ offset: position, length: s.length }) : finished;
  }
  if (position > s.offset && writer.tail.byteLength > 0) {
    if (!(await holder.renew())) return holder.problem();
    // Written before it is recorded: a crash in between leaves the old, shorter tail length, which reads only the first
    // bytes.
    await env.STAGING.put(tailKey, writer.tail);
    const recorded = await stub.tusProgress(s.name, { tail: writer.tail.byteLength, format }, lease);
    if (!recorded.ok) return recorded;
  }
  return broken ?? done({ offset: position, length: s.length });
}
