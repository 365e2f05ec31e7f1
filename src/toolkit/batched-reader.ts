/**
 * Reading a large body in large chunks. workerd hands a fetch or R2 body to a default reader in
 * pieces of about 4 KiB, and every piece then costs a trip through each stream, timer and parser
 * step behind it: a 400 MB download_model answer was 100 000 such trips, which made the per-chunk
 * overhead, not the bytes, the cost of staging a model. A BYOB reader's readAtLeast (a workerd
 * extension) waits until BATCH_MIN_BYTES have arrived (or the body ends) and returns them in one
 * piece. A stream that has no BYOB reader (one built in JavaScript) is read as it comes.
 *
 * The trade-off: a read now waits for BATCH_MIN_BYTES, so a body trickling in slower than that
 * per idle time-out (64 KiB per 30 s by default, about 2 kB/s) would be taken for a stalled one.
 *
 * Room is sized to what is left: a read's buffer is fresh memory handed out with the piece, and
 * zeroing 256 KiB twice for a tool call's few hundred bytes of JSON was most of what a small
 * answer cost to read. So a body of known length gets no more room than it has bytes left, and
 * the read that only confirms the end (after the known length, or after a short piece, which
 * readAtLeast gives only at the end) gets END_PROBE_BYTES. Either way a body that goes on after
 * all is still read whole: the next read has full room again.
 */

/** Bytes a read waits for before it returns (unless the body ends first). */
export const BATCH_MIN_BYTES = 64 * 1024;
/** Room for one read: what arrived beyond the minimum comes along in the same piece. */
export const BATCH_BUFFER_BYTES = 256 * 1024;
/** Room for a read expected to find the end of the body. */
export const END_PROBE_BYTES = 1024;

export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

/** The body length an answer declares (its Content-Length), or null when it declares none. */
export function declaredLength(response: Response): number | null {
  const header = response.headers.get("content-length");
  if (header === null || !/^\d+$/.test(header.trim())) return null;
  const length = Number(header);
  return Number.isSafeInteger(length) ? length : null;
}

type AtLeastReader = ReadableStreamBYOBReader & {
  readAtLeast?: (min: number, view: Uint8Array) => Promise<ReadableStreamReadResult<Uint8Array>>;
};

/**
 * A reader of `stream` that returns pieces of at least BATCH_MIN_BYTES where the runtime allows it.
 * `expectedBytes` (a Content-Length, an R2 object's size) only sizes the reads; it is not enforced.
 */
export function batchedReader(stream: ReadableStream<Uint8Array>, expectedBytes?: number | null): ChunkReader {
  let byob: AtLeastReader;
  try {
    byob = stream.getReader({ mode: "byob" }) as AtLeastReader;
  } catch {
    // Not a byte stream: no BYOB reader to be had.
    return stream.getReader();
  }
  const atLeast = byob.readAtLeast;
  if (typeof atLeast !== "function") {
    byob.releaseLock();
    return stream.getReader();
  }
  // Forgotten once the body runs past it (a compressed body's Content-Length counts the wire bytes).
  let expected =
    expectedBytes !== undefined && expectedBytes !== null && expectedBytes >= 0 ? expectedBytes : undefined;
  let received = 0;
  let atEnd = expected === 0;
  let ended = false;
  return {
    async read() {
      while (!ended) {
        const room = atEnd
          ? END_PROBE_BYTES
          : expected !== undefined
            ? Math.min(BATCH_BUFFER_BYTES, expected - received)
            : BATCH_BUFFER_BYTES;
        const wanted = atEnd ? 1 : Math.min(BATCH_MIN_BYTES, room);
        const next = await atLeast.call(byob, wanted, new Uint8Array(room));
        // The last bytes may come with done: they are handed out first, the end on the next read.
        if (next.done) ended = true;
        const got = next.value?.byteLength ?? 0;
        received += got;
        if (expected !== undefined && received > expected) expected = undefined;
        atEnd = got < wanted || (expected !== undefined && received >= expected);
        if (got > 0) return { done: false, value: next.value! };
      }
      return { done: true, value: undefined };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}
