// A multipart/form-data body (RFC 7578) produced as a stream, for ai-toolkit's UI upload route.
//
// The parts are text fields, small files held in memory (captions) and files read from streams
// of known length (R2 objects). The exact byte length is known before the first byte, so the
// request can carry Content-Length: some tunnels and proxies refuse chunked request bodies.
// Each streamed file is opened only when the body reaches it (never two at once), and nothing
// is read ahead of the consumer.

import { StreamedBody } from "../streamed-body";

export interface MultipartField {
  name: string;
  value: string;
}

interface FilePartBase {
  name: string;
  filename: string;
  /** Default application/octet-stream. */
  contentType?: string;
}

export interface MultipartBytes extends FilePartBase {
  data: Uint8Array;
}

export interface MultipartStream extends FilePartBase {
  /** Exact byte length of what `open` yields; the body's length is computed from it. */
  size: number;
  /** Opens the file's bytes. Called only when the body reaches this part. */
  open: () => Promise<ReadableStream<Uint8Array>>;
}

export type MultipartPart = MultipartField | MultipartBytes | MultipartStream;

export interface MultipartBody {
  body: ReadableStream<Uint8Array>;
  /** Exact byte length of `body`. */
  length: number;
  /** `multipart/form-data; boundary=...`, for the Content-Type header. */
  contentType: string;
  boundary: string;
}

const utf8 = new TextEncoder();
const CRLF = "\r\n";
/** "aitk-" and 40 hex digits (160 random bits): a boundary's length never changes, nor does the body's. */
const BOUNDARY_LENGTH = 45;

/**
 * A name or file name inside a quoted header parameter, encoded as the HTML standard's form
 * submission does: `"` becomes %22, CR %0D and LF %0A, so no name can end the parameter or the
 * header line. Other characters are sent as UTF-8.
 */
export function quoteParameter(value: string): string {
  return `"${value.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A")}"`;
}

function partHead(part: MultipartPart): string {
  const disposition = `Content-Disposition: form-data; name=${quoteParameter(part.name)}`;
  if ("value" in part) return `${disposition}${CRLF}${CRLF}`;
  const type = (part.contentType ?? "application/octet-stream").replace(/[\r\n]/g, "");
  return `${disposition}; filename=${quoteParameter(part.filename)}${CRLF}Content-Type: ${type}${CRLF}${CRLF}`;
}

interface Framing {
  /** Per part: the delimiter and headers before its content. */
  heads: Uint8Array[];
  /** Per part: its content when known up front (fields and in-memory files). */
  known: (Uint8Array | undefined)[];
  tail: Uint8Array;
  length: number;
}

function frame(parts: readonly MultipartPart[], boundary: string): Framing {
  let length = 0;
  const heads = parts.map((part, k) => {
    // Every part but the first starts with the CRLF that ends the previous part's content.
    const head = utf8.encode(`${k === 0 ? "" : CRLF}--${boundary}${CRLF}${partHead(part)}`);
    length += head.byteLength;
    return head;
  });
  const known = parts.map((part) => {
    if ("value" in part) return utf8.encode(part.value);
    if ("data" in part) return part.data;
    if (!Number.isSafeInteger(part.size) || part.size < 0)
      throw new RangeError(`the part ${part.filename} has an invalid size: ${String(part.size)}`);
    return undefined;
  });
  for (const [k, part] of parts.entries()) length += known[k]?.byteLength ?? (part as MultipartStream).size;
  const tail = utf8.encode(`${parts.length === 0 ? "" : CRLF}--${boundary}--${CRLF}`);
  length += tail.byteLength;
  return { heads, known, tail, length };
}

/** Exact byte length of the body for these parts, without opening any. */
export function multipartLength(parts: readonly MultipartPart[]): number {
  return frame(parts, "x".repeat(BOUNDARY_LENGTH)).length;
}

/**
 * A boundary found in none of the headers and none of the content known up front (checked, and
 * drawn again in the astronomically unlikely case). Streamed content is not seen in advance:
 * 160 random bits make a collision with it as likely as guessing a 160-bit key.
 */
function chooseBoundary(parts: readonly MultipartPart[]): string {
  const decoder = new TextDecoder();
  const seen = parts.flatMap((part) => [
    partHead(part),
    "value" in part ? part.value : "data" in part ? decoder.decode(part.data) : "",
  ]);
  for (;;) {
    const random = crypto.getRandomValues(new Uint8Array(20));
    const boundary = `aitk-${Array.from(random, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
    if (!seen.some((text) => text.includes(boundary))) return boundary;
  }
}

/**
 * Streams the body. It errors with UploadBodyError when a streamed file yields more or fewer
 * bytes than its `size`, and with the file's own error when opening or reading it fails.
 * Cancelling the body cancels the file being read.
 */
export function createMultipartBody(parts: readonly MultipartPart[]): MultipartBody {
  const boundary = chooseBoundary(parts);
  const framing = frame(parts, boundary);
  const assembly = new StreamedBody();

  async function* produce(): AsyncGenerator<Uint8Array> {
    for (const [k, part] of parts.entries()) {
      yield framing.heads[k] ?? new Uint8Array(0);
      const known = framing.known[k];
      if (known) {
        if (known.byteLength > 0) yield known.slice(); // a fresh copy: a consumer may detach what it is given
        continue;
      }
      const file = part as MultipartStream;
      yield* assembly.source(() => file.open(), file.size, file.filename);
      if (assembly.wasCancelled) return;
    }
    yield framing.tail.slice();
  }

  const body = assembly.stream(produce());
  return { body, length: framing.length, contentType: `multipart/form-data; boundary=${boundary}`, boundary };
}
