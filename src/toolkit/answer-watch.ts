// An upstream's answer bounded in time to its last byte: the request's time-out covers the
// whole answer, and a body that stalls or breaks off midway becomes a ToolkitError that
// names the toolkit and what to check, whoever reads it.

import { batchedReader, declaredLength, type ChunkReader } from "./batched-reader";
import { concatBytes } from "../common";
import { describeNetworkError, formatSeconds, ToolkitError, TUNNEL_GUIDE } from "./errors";

/** The time-out of a whole request, with how much of the answer came, when some did. */
export function timedOut(target: string, what: string, timeoutMs: number, received?: number): ToolkitError {
  const sent = received === undefined ? "" : ` (it sent ${received} bytes of its answer, then nothing more)`;
  return new ToolkitError(
    "timeout",
    `the toolkit at ${target} did not answer ${what} within ${formatSeconds(timeoutMs)}${sent}: is the ` +
      `tunnel running and the toolkit up? ${TUNNEL_GUIDE}`,
  );
}

export interface BodyWatch {
  target: string;
  what: string;
  /** The request's own time-out, which covers the whole answer. */
  timeout: AbortSignal;
  timeoutMs: number;
  /** Longest silence while someone waits for the next bytes of the answer. */
  idleMs: number;
  /** The caller's own signal: its abort is the caller's business, passed on as it is. */
  signal?: AbortSignal | undefined;
}

/**
 * The answer with its body under watch: an answer whose headers arrived but whose body then
 * stalls (past the request's time-out, or silent for idleMs while someone reads) fails as a
 * "timeout" ToolkitError, and one that breaks off as "unreachable", both naming the toolkit
 * and what to check. Without this, a stalled body surfaced as the runtime's bare "The
 * operation was aborted due to timeout" wherever it was read. Silence counts only while a
 * read waits, so a slow reader (an R2 upload, say) is never taken for a stalled toolkit.
 */
export async function watchBody(response: Response, watch: BodyWatch): Promise<Response> {
  const source = response.body;
  // Statuses that carry no body cannot be given one again.
  if (!source || [101, 204, 205, 304].includes(response.status)) return response;
  const length = declaredLength(response);
  const reader = batchedReader(source, length);
  let received = 0;
  const failure = (cause: "timeout" | "idle" | unknown): unknown => {
    if (cause === "idle") {
      return new ToolkitError(
        "timeout",
        `the toolkit at ${watch.target} stopped sending its answer to ${watch.what}: nothing for ` +
          `${formatSeconds(watch.idleMs)} after ${received} bytes: is the tunnel running and the toolkit up? ` +
          `${TUNNEL_GUIDE}`,
      );
    }
    if (cause === "timeout" || watch.timeout.aborted)
      return timedOut(watch.target, watch.what, watch.timeoutMs, received);
    if (watch.signal?.aborted) return watch.signal.reason;
    return new ToolkitError(
      "unreachable",
      `the connection to the toolkit at ${watch.target} broke after ${received} bytes of its answer to ` +
        `${watch.what} (${describeNetworkError(cause)}): is the tunnel running? ${TUNNEL_GUIDE}`,
    );
  };
  if (isSmall(response, length)) {
    const pieces: Uint8Array[] = [];
    try {
      for (;;) {
        const next = await readWithin(reader, watch);
        if (next.done) break;
        received += next.value.byteLength;
        pieces.push(next.value);
      }
    } catch (cause) {
      const error = failure(cause);
      await reader.cancel(error).catch(() => {});
      throw error;
    }
    return new Response(concatBytes(pieces), {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  }
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await readWithin(reader, watch);
        } catch (cause) {
          const error = failure(cause);
          controller.error(error);
          await reader.cancel(error).catch(() => {});
          return;
        }
        if (next.done) controller.close();
        else {
          received += next.value.byteLength;
          controller.enqueue(next.value);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    // Nothing is read ahead: bytes move only when the reader asks, so idle time is the toolkit's.
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Answers of at most this declared length are read whole as soon as their headers arrive: every
 * caller reads such an answer whole anyway (a tool's JSON), and a body already in memory saves
 * the stream wrapped around it, which cost more than the bytes for a tool call's few hundred.
 */
export const SMALL_ANSWER_BYTES = 64 * 1024;

function isSmall(response: Response, length: number | null): boolean {
  // A compressed answer's length counts the wire bytes, not what it inflates to.
  return length !== null && length <= SMALL_ANSWER_BYTES && !response.headers.has("content-encoding");
}

/** The next chunk, or a rejection with "timeout" or "idle" when the answer stalls (or the read's own error). */
function readWithin(reader: ChunkReader, watch: BodyWatch): Promise<ReadableStreamReadResult<Uint8Array>> {
  if (watch.timeout.aborted) return Promise.reject("timeout");
  return new Promise((resolve, reject) => {
    const onTimeout = () => finish(() => reject("timeout"));
    const onAbort = () => finish(() => reject(watch.signal?.reason));
    const idle = setTimeout(() => finish(() => reject("idle")), watch.idleMs);
    const finish = (settle: () => void) => {
      clearTimeout(idle);
      watch.timeout.removeEventListener("abort", onTimeout);
      watch.signal?.removeEventListener("abort", onAbort);
      settle();
    };
    watch.timeout.addEventListener("abort", onTimeout);
    watch.signal?.addEventListener("abort", onAbort);
    reader.read().then(
      (next) => finish(() => resolve(next)),
      (error: unknown) => finish(() => reject(error)),
    );
  });
}
