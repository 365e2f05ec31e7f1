import type { z } from "zod";
import { ToolkitError, TUNNEL_GUIDE } from "../errors";
import { unwrapEnvelope } from "./envelope";
import { operations, type OperationName, type OperationResult } from "./operations";
import type { ToolkitTransport } from "../transport";

export interface ToolkitHealth {
  ok: boolean;
  latencyMs: number;
  version?: string;
  server?: string;
  error?: string;
  /** The failure itself, for diagnosis (kind and HTTP status). */
  failure?: ToolkitError;
}

export interface ExecuteOptions {
  /** Overrides the configured per-call timeout (long transfers need more). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * Whether a read may be retried once after a transport failure (default true). Callers
   * that poll on their own schedule pass false, so a hung toolkit costs one timeout, not two.
   */
  retry?: boolean;
}

/**
 * Speaks the LAN toolkit's protocol (docs/toolkit-protocol.md) over one transport. Every answer
 * is checked here, so the rest of the Worker sees either a typed result or a ToolkitError
 * whose message says what happened and what to do next.
 */
export class ToolkitClient {
  constructor(
    readonly transport: ToolkitTransport,
    readonly timeoutMs: number,
  ) {}

  /**
   * Runs one toolkit tool. Read-only operations are retried once after a transport failure
   * (a dropped tunnel connection is common); operations that change state never are, since
   * the first attempt may have reached the toolkit.
   */
  async run<N extends OperationName>(
    name: N,
    args: Record<string, unknown> = {},
    options: ExecuteOptions = {},
  ): Promise<OperationResult<N>> {
    const operation = operations[name];
    const attempts = operation.reads && options.retry !== false ? 2 : 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const response = await this.post(name, JSON.stringify({ tool: name, arguments: args }), options);
        return await resultOf(name, response);
      } catch (error) {
        lastError = error;
        const retryable = error instanceof ToolkitError && (error.kind === "unreachable" || error.kind === "timeout");
        if (!retryable) throw error;
      }
    }
    throw lastError;
  }

  /**
   * Runs one toolkit tool with a prepared /mcp/execute body (for example a streamed upload)
   * and checks the answer like `run`. Never retried: the body is a stream read once.
   */
  async runPrepared<N extends OperationName>(
    name: N,
    body: BodyInit,
    options: ExecuteOptions & { contentLength: number },
  ): Promise<OperationResult<N>> {
    return resultOf(name, await this.post(name, body, options));
  }

  /**
   * Sends a prepared /mcp/execute body (for example a streamed upload) and returns the raw
   * response once its status is known to be OK. The caller reads the body (for example a
   * streamed download) and unwraps the envelope itself.
   */
  async execute(tool: string, body: BodyInit, options: ExecuteOptions & { contentLength?: number } = {}): Promise<Response> {
    return this.post(tool, body, options);
  }

  /** GET /health, timed. Never throws: an unreachable toolkit is a normal answer here. */
  async health(): Promise<ToolkitHealth> {
    const started = Date.now();
    try {
      const response = await this.request("/health", { method: "GET" }, {}, "health");
      const body: unknown = await readJson("health", response);
      const latencyMs = Date.now() - started;
      const record = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
      return {
        ok: record.status === "healthy",
        latencyMs,
        version: typeof record.version === "string" ? record.version : undefined,
        server: typeof record.server === "string" ? record.server : undefined,
        ...(record.status === "healthy" ? {} : { error: "the toolkit answered /health but does not say it is healthy" }),
      };
    } catch (error) {
      return {
        ok: false,
        latencyMs: Date.now() - started,
        error: error instanceof Error ? error.message : String(error),
        ...(error instanceof ToolkitError ? { failure: error } : {}),
      };
    }
  }

  private post(tool: string, body: BodyInit, options: ExecuteOptions & { contentLength?: number }): Promise<Response> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (options.contentLength !== undefined) headers["Content-Length"] = String(options.contentLength);
    return this.request("/mcp/execute", { method: "POST", headers, body }, options, tool);
  }

  /**
   * One request, bounded by its time-out from the first byte sent to the last byte of the
   * answer read. The answer's body comes back watched (see watchBody), so an answer that
   * stalls or breaks midway is a ToolkitError like any other, whoever reads it.
   */
  private async request(path: string, init: RequestInit, options: ExecuteOptions, what: string): Promise<Response> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const target = this.transport.target;
    let response: Response;
    try {
      response = await this.transport.fetch(path, { ...init, signal });
    } catch (error) {
      if (timeout.aborted) throw timedOut(target, what, timeoutMs);
      if (options.signal?.aborted) throw error;
      const cause = describeNetworkError(error);
      throw new ToolkitError(
        "unreachable",
        `the toolkit at ${target} could not be reached (${cause}): is the tunnel running? ${TUNNEL_GUIDE}`,
      );
    }
    const watched = watchBody(response, { target, what, timeout, timeoutMs, idleMs: Math.min(this.timeoutMs, timeoutMs), signal: options.signal });
    if (!watched.ok) throw await httpError(target, what, watched);
    return watched;
  }
}

function timedOut(target: string, what: string, timeoutMs: number, received?: number): ToolkitError {
  const sent = received === undefined ? "" : ` (it sent ${received} bytes of its answer, then nothing more)`;
  return new ToolkitError(
    "timeout",
    `the toolkit at ${target} did not answer ${what} within ${formatSeconds(timeoutMs)}${sent}: is the tunnel running and the toolkit up? ${TUNNEL_GUIDE}`,
  );
}

interface BodyWatch {
  target: string;
  what: string;
  /** The request's own time-out, which covers the whole answer. */
  timeout: AbortSignal;
  timeoutMs: number;
  /** Longest silence while someone waits for the next bytes of the answer. */
  idleMs: number;
  /** The caller's own signal: its abort is the caller's business, passed on as it is. */
  signal?: AbortSignal;
}

/**
 * The answer with its body under watch: an answer whose headers arrived but whose body then
 * stalls (past the request's time-out, or silent for idleMs while someone reads) fails as a
 * "timeout" ToolkitError, and one that breaks off as "unreachable", both naming the toolkit
 * and what to check. Without this, a stalled body surfaced as the runtime's bare "The
 * operation was aborted due to timeout" wherever it was read. Silence counts only while a
 * read waits, so a slow reader (an R2 upload, say) is never taken for a stalled toolkit.
 */
function watchBody(response: Response, watch: BodyWatch): Response {
  const source = response.body;
  // Statuses that carry no body cannot be given one again.
  if (!source || [101, 204, 205, 304].includes(response.status)) return response;
  const reader = source.getReader();
  let received = 0;
  const failure = (cause: "timeout" | "idle" | unknown): unknown => {
    if (cause === "idle") {
      return new ToolkitError(
        "timeout",
        `the toolkit at ${watch.target} stopped sending its answer to ${watch.what}: nothing for ${formatSeconds(watch.idleMs)} after ${received} bytes: is the tunnel running and the toolkit up? ${TUNNEL_GUIDE}`,
      );
    }
    if (cause === "timeout" || watch.timeout.aborted) return timedOut(watch.target, watch.what, watch.timeoutMs, received);
    if (watch.signal?.aborted) return watch.signal.reason;
    return new ToolkitError(
      "unreachable",
      `the connection to the toolkit at ${watch.target} broke after ${received} bytes of its answer to ${watch.what} (${describeNetworkError(cause)}): is the tunnel running? ${TUNNEL_GUIDE}`,
    );
  };
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

/** The next chunk, or a rejection with "timeout" or "idle" when the answer stalls (or the read's own error). */
function readWithin(reader: ReadableStreamDefaultReader<Uint8Array>, watch: BodyWatch): Promise<ReadableStreamReadResult<Uint8Array>> {
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

async function httpError(target: string, what: string, response: Response): Promise<ToolkitError> {
  const text = await response.text().catch(() => "");
  const status = response.status;
  // Cloudflare answers 530 (error 1033) when the tunnel has no connected cloudflared.
  if (status === 530 || /error code:?\s*1033/i.test(text)) {
    return new ToolkitError(
      "unreachable",
      `Cloudflare could not reach the tunnel for ${target} (HTTP ${status}, error 1033): cloudflared is not connected on the LAN box. Start it (cd tunnel && npm run tunnel), ${TUNNEL_GUIDE}`,
      status,
      "tunnel",
    );
  }
  if (status === 502 || status === 504) {
    return new ToolkitError(
      "unreachable",
      `the tunnel to ${target} is up but the toolkit behind it did not answer (HTTP ${status}): is the AI Toolkit server running on port 8012? ${TUNNEL_GUIDE}`,
      status,
      "toolkit",
    );
  }
  if (status === 422) {
    return new ToolkitError(
      "http",
      `the toolkit rejected the ${what} request as malformed (HTTP 422): ${text.slice(0, 300)}. This is a bug in the Worker or a toolkit of another version: check the toolkit's version with check_connection`,
      status,
    );
  }
  if (status === 401 || status === 403) {
    return new ToolkitError(
      "http",
      `the toolkit at ${target} refused the Worker (HTTP ${status}): check CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET, ${TUNNEL_GUIDE}`,
      status,
      "access",
    );
  }
  return new ToolkitError(
    "http",
    `the toolkit at ${target} failed ${what} with HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ""}. Check the toolkit's console on the LAN box`,
    status,
  );
}

/** An OK /mcp/execute answer, read, unwrapped and checked against the operation's schema. */
async function resultOf<N extends OperationName>(name: N, response: Response): Promise<OperationResult<N>> {
  const result = unwrapEnvelope(name, await readJson(name, response));
  // Safe: the schema that parsed it is operations[name].result.
  return parseResult(name, operations[name].result, result) as OperationResult<N>;
}

async function readJson(what: string, response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    // Cloudflare Access answers an unauthenticated request with its login page (HTTP 200).
    if (/cloudflareaccess\.com|cf-access|Cloudflare Access/i.test(text)) {
      throw new ToolkitError(
        "protocol",
        `Cloudflare Access answered ${what} with its login page instead of the toolkit: the service token was not accepted. Check CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET and the Access policy, see tunnel/README.md`,
        response.status,
        "access",
      );
    }
    throw new ToolkitError(
      "protocol",
      `the toolkit's answer to ${what} is not JSON (${describeBody(response, text)}): is AI_TOOLKIT_URL (or the VPC service) pointing at the AI Toolkit server on port 8012? ${TUNNEL_GUIDE}`,
    );
  }
}

function parseResult<S extends z.ZodType>(tool: string, schema: S, result: unknown): z.infer<S> {
  const parsed = schema.safeParse(result);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ToolkitError(
      "protocol",
      `the toolkit's result for ${tool} has an unexpected shape (${issue ? `${issue.path.join(".") || "result"}: ${issue.message}` : "invalid"}): is it a compatible AI Toolkit server version?`,
    );
  }
  return parsed.data;
}

/** Node's fetch hides the real reason (ECONNREFUSED, ENOTFOUND...) one level down. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message}: ${typeof code === "string" ? `${code} ` : ""}${cause.message}`.trim();
  }
  return error.message;
}

function describeBody(response: Response, text: string): string {
  const type = response.headers.get("content-type") ?? "no content type";
  return text.length === 0 ? `empty body, ${type}` : `${type}, starts with ${JSON.stringify(text.slice(0, 60))}`;
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
