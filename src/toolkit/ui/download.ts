import { batchedReader, declaredLength } from "../batched-reader";
import { describeNetworkError, ToolkitError } from "../errors";
import { labelOf, notJson, stalled, statusFailure, UI, type UiCall, type UiContext } from "./failures";
import { readText, sendUi } from "./http";
import { checked, uiAbsolutePathSchema } from "./names";

/**
 * `GET /api/files/<path>`: a file of the UI machine (a checkpoint, a sample), streamed. The
 * UI's front server answers it itself with full Range support (206, and 416 past the end); it
 * needs no token, which is sent anyway. Only files under DATASETS_FOLDER and TRAINING_FOLDER are
 * served. The timeout covers the headers, then each wait for the next chunk: a download of many
 * gigabytes has no total deadline, but a body that stops moving fails.
 */

export interface UiDownloadOptions {
  /** Resume: ask for the file from this byte on (`Range: bytes=N-`). */
  rangeStart?: number;
  /**
   * When resuming from a server (or proxy) that ignores Range and sends the whole file with 200:
   * "refuse" (default) cancels it and throws, "restart" returns it with `start` 0, so the
   * caller must then write from the beginning.
   */
  ignoredRange?: "refuse" | "restart";
  /** The longest wait for the headers and for each chunk; default the client's timeout. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UiDownload {
  body: ReadableStream<Uint8Array>;
  /** The file offset of the body's first byte: `rangeStart`, or 0 when the server restarted. */
  start: number;
  /** Bytes in `body`, when the answer says (Content-Length or Content-Range). */
  length: number | null;
  /** The whole file's size, when the answer says. */
  size: number | null;
  /** True when a resume was asked for but the server sent the file from byte 0 ("restart"). */
  restarted: boolean;
  contentType: string | null;
}

export async function downloadUiFile(
  ctx: UiContext,
  absolutePath: string,
  options: UiDownloadOptions = {},
): Promise<UiDownload> {
  const path = checked(uiAbsolutePathSchema, "the file path", absolutePath);
  const rangeStart = options.rangeStart ?? 0;
  if (!Number.isSafeInteger(rangeStart) || rangeStart < 0)
    throw new RangeError(`rangeStart must be a byte offset, not ${String(options.rangeStart)}`);
  const call: UiCall = { method: "GET", path: `/api/files/${encodeURIComponent(path)}`, action: `download ${path}` };
  const timeoutMs = options.timeoutMs ?? ctx.timeoutMs;
  // Not AbortSignal.timeout: it would also cut the body off mid-download.
  const abort = new AbortController();
  let headersLate = false;
  const timer = setTimeout(() => {
    headersLate = true;
    abort.abort(new DOMException("headers timed out", "TimeoutError"));
  }, timeoutMs);
  const signal = options.signal ? AbortSignal.any([abort.signal, options.signal]) : abort.signal;
  let response: Response;
  try {
    const headers: Record<string, string> = {
      Accept: "*/*",
      ...(rangeStart > 0 ? { Range: `bytes=${rangeStart}-` } : {}),
    };
    response = await sendUi(
      ctx,
      { ...call, headers },
      { signal, timeoutMs, timedOut: () => headersLate, callerSignal: options.signal },
    );
  } finally {
    clearTimeout(timer);
  }
  const contentType = response.headers.get("content-type");
  const contentLength = declaredLength(response);

  // The UI sends every file as an attachment; a web page without one is someone else's answer
  // (Cloudflare Access's login page, a proxy's error page), never the file.
  if (response.ok && /text\/html/i.test(contentType ?? "") && !response.headers.has("content-disposition")) {
    const text = await readText(response, AbortSignal.timeout(timeoutMs), 64 * 1024).catch(() => "");
    throw notJson(ctx, call, response, text);
  }
  if (response.status === 416) {
    const size = numberOrNull(/^bytes \*\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1] ?? null);
    await response.body?.cancel().catch(() => {});
    // Resuming exactly at the end: nothing is left to send.
    if (size !== null && rangeStart === size)
      return { body: emptyStream(), start: size, length: 0, size, restarted: false, contentType };
    throw new ToolkitError(
      "tool",
      `${UI} cannot send ${path} from byte ${rangeStart} (HTTP 416): the file has ` +
        `${size ?? "an unknown number of"} bytes now, so it changed since the download began. Download it ` +
        `again from the start`,
      416,
    );
  }
  if (response.status === 206) {
    const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.headers.get("content-range") ?? "");
    const first = Number(range?.[1]);
    const last = Number(range?.[2]);
    if (!range || first !== rangeStart || last < first) {
      await response.body?.cancel().catch(() => {});
      throw new ToolkitError(
        "protocol",
        `${UI} answered ${labelOf(call)} from byte ${rangeStart} with a part that does not start there ` +
          `(Content-Range ${JSON.stringify(response.headers.get("content-range"))}): download it again from ` +
          `the start`,
        206,
      );
    }
    const length = last - first + 1;
    const size = range[3] === "*" ? null : Number(range[3]);
    return {
      body: guardBody(ctx, call, response, abort, timeoutMs, rangeStart, length),
      start: rangeStart,
      length,
      size,
      restarted: false,
      contentType,
    };
  }
  if (response.ok) {
    if (rangeStart > 0 && options.ignoredRange !== "restart") {
      await response.body?.cancel().catch(() => {});
      throw new ToolkitError(
        "protocol",
        `${UI} at ${ctx.transport.target} (or something in front of it) ignored the Range header of ` +
          `${labelOf(call)} and sent ${path} from the start (HTTP ${response.status} instead of 206): ` +
          `download it again from the start`,
        response.status,
      );
    }
    return {
      body: guardBody(ctx, call, response, abort, timeoutMs, 0, contentLength),
      start: 0,
      length: contentLength,
      size: contentLength,
      restarted: rangeStart > 0,
      contentType,
    };
  }

  const text = await readText(response, AbortSignal.timeout(timeoutMs), 64 * 1024).catch(() => "");
  // The file server's own refusals are plain text.
  if (response.status === 403 && text.trim() === "Access denied") {
    throw new ToolkitError(
      "tool",
      `${UI} refuses to serve ${path} (HTTP 403): it serves only files under its DATASETS_FOLDER and TRAINING_FOLDER`,
      403,
    );
  }
  if (response.status === 404 && text.trim() === "File not found") {
    throw new ToolkitError(
      "tool",
      `${UI} has no file at ${path} (HTTP 404): it was moved or deleted; list the job's files again`,
      404,
    );
  }
  if (response.status === 400 && text.trim() === "Not a file") {
    throw new ToolkitError(
      "tool",
      `${path} is not a file on the UI's machine (HTTP 400): give the path of a file, not of a folder`,
      400,
    );
  }
  throw statusFailure(ctx, call, response, text);
}

/**
 * The response body, failing with a ToolkitError when no chunk arrives for `idleMs` (a stall),
 * when the connection breaks, or when it ends before `expected` bytes; each message says the
 * byte to resume from.
 */
function guardBody(
  ctx: UiContext,
  call: UiCall,
  response: Response,
  abort: AbortController,
  idleMs: number,
  start: number,
  expected: number | null,
): ReadableStream<Uint8Array> {
  if (!response.body) return emptyStream();
  const reader = batchedReader(response.body, expected);
  let seen = 0;
  const resumeAt = () => `; resume from byte ${start + seen}`;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const idle = new Promise<"stalled">((resolve) => {
          timer = setTimeout(() => resolve("stalled"), idleMs);
        });
        try {
          const next = await Promise.race([reader.read(), idle]);
          if (next === "stalled") {
            abort.abort();
            void reader.cancel().catch(() => {});
            controller.error(stalled(ctx, call, idleMs, resumeAt()));
          } else if (next.done) {
            if (expected !== null && seen !== expected) {
              controller.error(
                new ToolkitError(
                  "unreachable",
                  `${UI} ended ${labelOf(call)} after ${seen} of ${expected} bytes${resumeAt()}`,
                  undefined,
                  "toolkit",
                ),
              );
            } else {
              controller.close();
            }
          } else {
            seen += next.value.byteLength;
            if (expected !== null && seen > expected) {
              void reader.cancel().catch(() => {});
              controller.error(
                new ToolkitError(
                  "protocol",
                  `${UI} sent more than the ${expected} bytes it announced for ${labelOf(call)}: download ` +
                    `it again from the start`,
                ),
              );
            } else {
              controller.enqueue(next.value);
            }
          }
        } catch (error) {
          controller.error(
            new ToolkitError(
              "unreachable",
              `the download of ${labelOf(call)} from ${UI} at ${ctx.transport.target} broke ` +
                `(${describeNetworkError(error)})${resumeAt()}`,
            ),
          );
        } finally {
          if (timer !== undefined) clearTimeout(timer);
        }
      },
      cancel(reason: unknown) {
        abort.abort();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function numberOrNull(text: string | null): number | null {
  if (text === null || !/^\d+$/.test(text.trim())) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (controller) => controller.close() });
}
