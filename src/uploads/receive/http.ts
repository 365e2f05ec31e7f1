import { errorMessage } from "../../common";
import { IMAGE_HEAD_BYTES, imageProblem, PART_MAX_NUMBER, sniffImage, type UploadKind } from "../rules";
import { CAPTION_LIST_MAX_BYTES, CaptionFileError, captionEntries } from "../captions";
import { LeaseHolder } from "../leases";
import { sessionStub } from "../session";
import { done, refuse, type Outcome } from "../types";
import { unpackZip, ZipEntryWriter } from "./zip";

export interface Accepted {
  name: string;
  kind: UploadKind;
  size?: number;
  captions?: number;
  /** For a zip: what it held, and what was refused (each with why). */
  unpacked?: { images: number; captions: number; rejected: Array<{ name: string; reason: string }> };
}

/**
 * The work behind the upload routes, apart from HTTP: each file is checked by the session,
 * its bytes streamed to R2 (an image is sniffed for its magic number on the way), and the
 * session told what arrived. A refused file is recorded with its reason and never stops the
 * others.
 */
export async function acceptWhole(
  env: Env,
  tokenHash: string,
  rawName: string,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<Outcome<Accepted>> {
  const stub = sessionStub(env, tokenHash);
  const target = await stub.beginFile(rawName, length, "whole");
  if (!target.ok) return target;
  const { name, kind, key } = target.value;
  if (kind === "image") {
    const { head, body: bytes } = await sniff(body, length);
    const problem = imageProblem(name, head);
    if (problem) {
      await bytes.cancel().catch(() => {});
      await stub.rejectFile(name, problem);
      return refuse(415, problem);
    }
    await env.STAGING.put(key, bytes);
    const recorded = await stub.recordWhole(name, length, imageFormat(head));
    return recorded.ok ? done({ name, kind, size: length }) : recorded;
  }
  if (kind === "zip") {
    const fixed = new FixedLengthStream(length);
    body.pipeTo(fixed.writable).catch(() => {});
    await env.STAGING.put(key, fixed.readable);
    return unpackStaged(env, tokenHash, name, key, false);
  }
  try {
    const text = await readSmallText(body, CAPTION_LIST_MAX_BYTES, name);
    const entries = captionEntries(kind, name, text);
    const set = await stub.setCaptions(
      entries,
      kind === "caption" ? "txt" : kind === "captions-json" ? "captions.json" : "captions.csv",
    );
    return set.ok ? done({ name, kind, captions: set.value.captions }) : set;
  } catch (error) {
    if (error instanceof CaptionFileError || error instanceof RangeError) return refuse(400, error.message);
    throw error;
  }
}

/**
 * One part of a file sent in parts. The session grants this request the part's lease before
 * any byte is written (leases.ts), so a second PUT of the same part at the same time gets
 * 409 and writes nothing, and a file already staged takes no late parts at all.
 */
export async function acceptPart(
  env: Env,
  tokenHash: string,
  rawName: string,
  n: number,
  body: ReadableStream<Uint8Array>,
  length: number,
): Promise<Outcome<{ name: string; part: number; size: number }>> {
  if (!Number.isInteger(n) || n < 1 || n > PART_MAX_NUMBER)
    return refuse(400, `part numbers run from 1 to ${PART_MAX_NUMBER}`);
  const stub = sessionStub(env, tokenHash);
  const target = await stub.beginFile(rawName, length, "part", n);
  if (!target.ok) {
    await body.cancel().catch(() => {});
    return target;
  }
  const { name, kind, key, uploadId, lease } = target.value;
  if (!uploadId || !lease) return refuse(500, `no multipart upload could be started for ${name}: try again`);
  const holder = new LeaseHolder(stub, lease);
  // Should the lease be lost meanwhile (the file deleted, say), the body stops and R2 keeps the part it had.
  const guarded = body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>(), { signal: holder.signal });
  try {
    let stream: ReadableStream<Uint8Array>;
    let format: string | null = null;
    if (n === 1 && kind === "image") {
      const sniffed = await sniff(guarded, length);
      const problem = imageProblem(name, sniffed.head);
      if (problem) {
        await sniffed.body.cancel().catch(() => {});
        await stub.rejectFile(name, problem);
        return refuse(415, problem);
      }
      stream = sniffed.body;
      format = imageFormat(sniffed.head);
    } else {
      const fixed = new FixedLengthStream(length);
      guarded.pipeTo(fixed.writable).catch(() => {});
      stream = fixed.readable;
    }
    const part = await env.STAGING.resumeMultipartUpload(key, uploadId).uploadPart(n, stream);
    const recorded = await stub.recordPart(name, { n, size: length, etag: part.etag }, format, lease);
    return recorded.ok ? done({ name, part: n, size: length }) : recorded;
  } catch (error) {
    return await holder.explain(error);
  } finally {
    await holder.release();
  }
}

export async function completeFile(env: Env, tokenHash: string, rawName: string): Promise<Outcome<Accepted>> {
  const completed = await sessionStub(env, tokenHash).completeFile(rawName);
  if (!completed.ok) return completed;
  const { name, kind, key, size } = completed.value;
  if (kind === "zip") return unpackStaged(env, tokenHash, name, key, true);
  return done({ name, kind, size });
}

/** Unpacks a staged zip into the session, then drops the archive itself. */
async function unpackStaged(
  env: Env,
  tokenHash: string,
  zipName: string,
  key: string,
  tracked: boolean,
): Promise<Outcome<Accepted>> {
  const stub = sessionStub(env, tokenHash);
  const object = await env.STAGING.get(key);
  if (!object) return refuse(404, `the staged archive ${zipName} is gone: upload it again`);
  const limits = await stub.limits();
  if (!limits.ok) {
    await object.body.cancel().catch(() => {});
    return limits;
  }
  const report = { images: 0, captions: 0, rejected: [] as Array<{ name: string; reason: string }> };
  const taken = new Set<string>();
  // No entry may inflate past the largest file it could be, so a zip bomb stops there.
  const maxEntryBytes = Math.max(limits.value.file_max_bytes, CAPTION_LIST_MAX_BYTES);
  try {
    await unpackZip(
      object.body,
      async (path, originalSize) => {
        const sink = new ZipEntryWriter(env, stub, path, taken, report);
        return (await sink.begin(originalSize)) ? sink : undefined;
      },
      maxEntryBytes,
    );
  } catch (error) {
    await stub.rejectFile(zipName, errorMessage(error));
    return refuse(422, errorMessage(error));
  } finally {
    if (tracked) await stub.removeFile(zipName);
    else await env.STAGING.delete(key);
  }
  return done({ name: zipName, kind: "zip", unpacked: report });
}

function imageFormat(head: Uint8Array): string | null {
  return sniffImage(head) ?? null;
}

export interface SniffedStream {
  head: Uint8Array;
  /** The whole stream again, head included, with a known length for R2. */
  body: ReadableStream<Uint8Array>;
}

/**
 * Reads just enough of a stream to see its magic number, then hands back the whole stream
 * with its length fixed (R2 needs the length up front; a short or long body then fails the
 * put instead of staging a truncated file). Nothing beyond the first chunk is buffered.
 */
export async function sniff(stream: ReadableStream<Uint8Array>, length: number): Promise<SniffedStream> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  while (have < IMAGE_HEAD_BYTES) {
    const next = await reader.read();
    if (next.done) break;
    chunks.push(next.value);
    have += next.value.byteLength;
  }
  const head = new Uint8Array(Math.min(have, IMAGE_HEAD_BYTES));
  let at = 0;
  for (const chunk of chunks) {
    if (at >= head.length) break;
    const take = chunk.subarray(0, head.length - at);
    head.set(take, at);
    at += take.length;
  }
  const replay = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const fixed = new FixedLengthStream(length);
  replay.pipeTo(fixed.writable).catch(() => {});
  return { head, body: fixed.readable };
}

/** Reads a small text upload (a caption or captions list), refusing one over `maxBytes`. */
export async function readSmallText(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  name: string,
): Promise<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let text = "";
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += chunk.byteLength;
      if (size > maxBytes)
        throw new RangeError(`${name} is over ${maxBytes} bytes, too big for a caption file: shorten it`);
      text += decoder.decode(chunk, { stream: true });
    }
    return text + decoder.decode();
  } catch (error) {
    if (error instanceof RangeError) throw error;
    throw new RangeError(`${name} is not UTF-8 text: save it as UTF-8 and upload it again`);
  }
}
