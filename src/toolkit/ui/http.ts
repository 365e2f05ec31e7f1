import type { z } from "zod";
import { ToolkitError } from "../errors";
import {
  notJson,
  stalled,
  statusFailure,
  timedOut,
  unreachable,
  wrongShape,
  type UiCall,
  type UiContext,
} from "./failures";

/**
 * One JSON call to ai-toolkit's UI: headers (the token beside whatever the transport adds),
 * one deadline for the headers and the whole body, the status and shape checked, reads retried
 * once after a transport failure, writes never (the first attempt may have reached the UI).
 */

export interface UiCallOptions {
  /** Overrides the client's per-call timeout (an upload needs far more). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Whether a read may be retried once (default true); callers that poll on their own schedule pass false. */
  retry?: boolean;
}

export interface UiRequest extends UiCall {
  method: "GET" | "POST";
  /** Sent as JSON. */
  json?: unknown;
  /** A prepared body (a stream), with its headers. */
  body?: BodyInit;
  headers?: Record<string, string>;
  /** Repeating the call changes nothing: it may be retried. */
  reads: boolean;
}

/** Largest JSON answer read (a log answer is up to ~5 MB of text, escaped). */
const MAX_JSON_BYTES = 32 * 1024 * 1024;

export async function callUi<S extends z.ZodType>(
  ctx: UiContext,
  request: UiRequest,
  schema: S,
  options: UiCallOptions = {},
): Promise<z.infer<S>> {
  const attempts = request.reads && options.retry !== false ? 2 : 1;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await callOnce(ctx, request, schema, options);
    } catch (error) {
      lastError = error;
      const retryable = error instanceof ToolkitError && (error.kind === "unreachable" || error.kind === "timeout");
      if (!retryable) throw error;
    }
  }
  throw lastError;
}

async function callOnce<S extends z.ZodType>(
  ctx: UiContext,
  request: UiRequest,
  schema: S,
  options: UiCallOptions,
): Promise<z.infer<S>> {
  const timeoutMs = options.timeoutMs ?? ctx.timeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const response = await sendUi(ctx, request, {
    signal,
    timeoutMs,
    timedOut: () => timeout.aborted,
    callerSignal: options.signal,
  });
  let text: string;
  try {
    text = await readText(response, signal, MAX_JSON_BYTES);
  } catch (error) {
    if (error instanceof ToolkitError) throw error;
    if (timeout.aborted) throw stalled(ctx, request, timeoutMs);
    if (options.signal?.aborted) throw options.signal.reason;
    throw unreachable(ctx, request, error);
  }
  if (!response.ok) throw statusFailure(ctx, request, response, text);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw notJson(ctx, request, response, text);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw wrongShape(ctx, request, parsed.error.issues[0]);
  return parsed.data;
}

export interface SendOptions {
  signal: AbortSignal;
  timeoutMs: number;
  /** Whether the deadline (not the caller) aborted the signal. */
  timedOut: () => boolean;
  callerSignal?: AbortSignal | undefined;
}

/** Sends a request and returns the answer whatever its status; a failure to get one is a ToolkitError. */
export async function sendUi(
  ctx: UiContext,
  request: Omit<UiRequest, "reads">,
  options: SendOptions,
): Promise<Response> {
  const headers = new Headers(request.headers);
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  // The UI's middleware compares the whole token after "Bearer ". The transport adds its own
  // headers (Access service token) beside these, never instead of them.
  if (ctx.token) headers.set("Authorization", `Bearer ${ctx.token}`);
  let body = request.body;
  if (request.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(request.json);
  }
  try {
    return await ctx.transport.fetch(request.path, {
      method: request.method,
      headers,
      ...(body === undefined ? {} : { body }),
      signal: options.signal,
    });
  } catch (error) {
    if (options.timedOut()) throw timedOut(ctx, request, options.timeoutMs);
    if (options.callerSignal?.aborted) throw error;
    throw unreachable(ctx, request, error);
  }
}

/**
 * Reads a body as text until it ends or `signal` aborts. Cancelling the reader on abort ends a
 * body that merely stalls (a stream the runtime does not tie to the signal); the caller tells
 * a deadline from a broken connection by its own signals.
 */
export async function readText(response: Response, signal: AbortSignal, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", onAbort);
  if (signal.aborted) onAbort();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      bytes += next.value.byteLength;
      if (bytes > limit) {
        void reader.cancel().catch(() => {});
        throw new ToolkitError(
          "protocol",
          `an answer of ai-toolkit's UI is larger than ${limit} bytes, more than the Worker reads at once: ` +
            `ask for less (a smaller limit or a later offset)`,
        );
      }
      text += decoder.decode(next.value, { stream: true });
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  if (signal.aborted) throw signal.reason;
  return text + decoder.decode();
}
