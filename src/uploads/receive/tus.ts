import { IMAGE_HEAD_BYTES, imageProblem, sniffImage } from "../rules";
import { tusTailKey } from "../cleanup";
import { LeaseHolder } from "../leases";
import { sessionStub } from "../token";
import { done, refuse, type Outcome, type TusState } from "../types";

/**
 * The size of every tus part but the last. R2 wants all parts but the last the same size
 * (and at least 5 MiB), while tus PATCH bodies come in any size, so bytes are regrouped into
 * parts of exactly this size; it is also the most this module holds in memory per request.
 */
export const TUS_PART_BYTES = 8 * 1024 * 1024;

/** Collects bytes up to one part, so a part is uploaded only when it is full (or the file ends). */
class PartBuffer {
  private bytes = new Uint8Array(TUS_PART_BYTES);
  size = 0;

  /** Copies what fits of `chunk`; returns how many bytes it took. */
  fill(chunk: Uint8Array): number {
    const take = Math.min(chunk.byteLength, TUS_PART_BYTES - this.size);
    this.bytes.set(chunk.subarray(0, take), this.size);
    this.size += take;
    return take;
  }

  get full(): boolean {
    return this.size === TUS_PART_BYTES;
  }

  view(): Uint8Array {
    return this.bytes.subarray(0, this.size);
  }

  /** Hands the collected bytes over and starts an empty buffer. */
  take(): Uint8Array {
    const out = this.view();
    this.bytes = new Uint8Array(TUS_PART_BYTES);
    this.size = 0;
    return out;
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
export async function patchUpload(env: Env, tokenHash: string, rawName: string, offset: number, body: ReadableStream<Uint8Array>): Promise<Outcome<{ offset: number; length: number }>> {
  const stub = sessionStub(env, tokenHash);
  const begun = await stub.tusBegin(tokenHash, rawName, offset);
  if (!begun.ok) {
    await body.cancel().catch(() => {});
    return begun;
  }
  const holder = new LeaseHolder(stub, tokenHash, begun.value.lease);
  const reader = body.getReader();
  try {
    return await storeBody({ env, stub, tokenHash, holder }, begun.value.state, reader);
  } catch (error) {
    return await holder.explain(error);
  } finally {
    await reader.cancel().catch(() => {});
    await holder.release();
  }
}

interface Patch {
  env: Env;
  stub: ReturnType<typeof sessionStub>;
  tokenHash: string;
  holder: LeaseHolder;
}

async function storeBody({ env, stub, tokenHash, holder }: Patch, s: TusState, reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Outcome<{ offset: number; length: number }>> {
  const tailKey = tusTailKey(s.key);
  const buffer = new PartBuffer();
  if (s.tail > 0) {
    const tail = await env.STAGING.get(tailKey, { range: { offset: 0, length: s.tail } });
    if (!tail || tail.size < s.tail) return refuse(409, `the stored bytes after the last part of ${s.name} are gone: DELETE this tus upload and start it again`);
    buffer.fill(new Uint8Array(await tail.arrayBuffer()));
  }
  const upload = env.STAGING.resumeMultipartUpload(s.key, s.uploadId);
  let partNumber = s.parts + 1;
  let position = s.offset;
  let checked = s.checked;
  let format: string | null = null;
  let broken: Outcome<never> | undefined;
  const lease = holder.lease;

  // Parts start at the file's first byte, so before any part is stored the buffer begins with the head.
  const headProblem = (): string | undefined => {
    const head = buffer.view().subarray(0, IMAGE_HEAD_BYTES);
    checked = true;
    format = sniffImage(head) ?? null;
    return imageProblem(s.name, head);
  };
  // Every write to R2 is made with a lease just renewed, so it cannot land after another PATCH took over.
  const storePart = async (): Promise<Outcome<null>> => {
    if (!(await holder.renew())) return holder.problem();
    const bytes = buffer.take();
    const part = await upload.uploadPart(partNumber, bytes);
    const recorded = await stub.tusProgress(tokenHash, s.name, { part: { n: partNumber, size: bytes.byteLength, etag: part.etag }, tail: 0, format }, lease);
    partNumber++;
    return recorded;
  };

  for (;;) {
    if (holder.lost) return holder.problem();
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await reader.read();
    } catch {
      broken = refuse(400, `the request body broke off after byte ${position} of ${s.name}: HEAD the upload URL and resume from its Upload-Offset`);
      break;
    }
    if (next.done) break;
    let chunk = next.value;
    if (position + chunk.byteLength > s.length) {
      broken = refuse(400, `the body goes past the ${s.length} bytes declared in Upload-Length for ${s.name}: send only the remaining bytes`);
      chunk = chunk.subarray(0, s.length - position);
    }
    while (chunk.byteLength > 0) {
      const taken = buffer.fill(chunk);
      chunk = chunk.subarray(taken);
      position += taken;
      if (!checked && buffer.size >= Math.min(IMAGE_HEAD_BYTES, s.length)) {
        const problem = headProblem();
        if (problem) {
          await stub.rejectFile(tokenHash, s.name, problem);
          return refuse(415, problem);
        }
      }
      if (buffer.full) {
        const stored = await storePart();
        if (!stored.ok) return stored;
      }
    }
    if (broken) break;
  }

  if (position === s.length) {
    if (buffer.size > 0) {
      const stored = await storePart();
      if (!stored.ok) return stored;
    }
    const finished = await stub.tusFinish(tokenHash, s.name, lease);
    await env.STAGING.delete(tailKey);
    return finished.ok ? done({ offset: position, length: s.length }) : finished;
  }
  if (position > s.offset && buffer.size > 0) {
    if (!(await holder.renew())) return holder.problem();
    // Written before it is recorded: a crash in between leaves the old, shorter tail length, which reads only the first bytes.
    await env.STAGING.put(tailKey, buffer.view());
    const recorded = await stub.tusProgress(tokenHash, s.name, { tail: buffer.size, format }, lease);
    if (!recorded.ok) return recorded;
  }
  return broken ?? done({ offset: position, length: s.length });
}
