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
 */

/** Bytes a read waits for before it returns (unless the body ends first). */
export const BATCH_MIN_BYTES = 64 * 1024;
/** Room for one read: what arrived beyond the minimum comes along in the same piece. */
export const BATCH_BUFFER_BYTES = 256 * 1024;

export interface ChunkReader {
  read(): Promise<ReadableStreamReadResult<Uint8Array>>;
  cancel(reason?: unknown): Promise<void>;
  releaseLock(): void;
}

type AtLeastReader = ReadableStreamBYOBReader & {
  readAtLeast?: (min: number, view: Uint8Array) => Promise<ReadableStreamReadResult<Uint8Array>>;
};

/** A reader of `stream` that returns pieces of at least BATCH_MIN_BYTES where the runtime allows it. */
export function batchedReader(stream: ReadableStream<Uint8Array>): ChunkReader {
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
  let ended = false;
  return {
    async read() {
      while (!ended) {
        const next = await atLeast.call(byob, BATCH_MIN_BYTES, new Uint8Array(BATCH_BUFFER_BYTES));
        // The last bytes may come with done: they are handed out first, the end on the next read.
        if (next.done) ended = true;
        if (next.value && next.value.byteLength > 0) return { done: false, value: next.value };
      }
      return { done: true, value: undefined };
    },
    cancel: (reason) => byob.cancel(reason),
    releaseLock: () => byob.releaseLock(),
  };
}
