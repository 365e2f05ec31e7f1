import type { z } from "zod";
import { errorMessage } from "../../common";
import type { Config } from "../../config";
import { timedOut, watchBody } from "../answer-watch";
import { describeBody, describeNetworkError, ToolkitError, tunnelNotConnected, TUNNEL_GUIDE } from "../errors";
import { operations, unwrapEnvelope, type OperationName, type OperationResult } from "./operations";
import { selectTransport, type ToolkitBinding, type ToolkitTransport } from "../transport";

export interface ToolkitHealth {
  ok: boolean;
  latencyMs: number;
  version?: string | undefined;
  server?: string | undefined;
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

/** The client for this Worker's settings: the transport they select and their per-call time-out. */
export function toolkitClient(config: Config, env: { TOOLKIT?: ToolkitBinding }): ToolkitClient {
  return new ToolkitClient(selectTransport(config, env.TOOLKIT), config.TOOLKIT_TIMEOUT_MS);
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
  async execute(
    tool: string,
    body: BodyInit,
    options: ExecuteOptions & { contentLength?: number } = {},
  ): Promise<Response> {
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
        ...(record.status === "healthy"
          ? {}
          : { error: "the toolkit answered /health but does not say it is healthy" }),
      };
    } catch (error) {
      return {
        ok: false,
        latencyMs: Date.now() - started,
        error: errorMessage(error),
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
    const watched = await watchBody(response, {
      target,
      what,
      timeout,
      timeoutMs,
      idleMs: Math.min(this.timeoutMs, timeoutMs),
      signal: options.signal,
    });
    if (!watched.ok) throw await httpError(target, what, watched);
    return watched;
  }
}

async function httpError(target: string, what: string, response: Response): Promise<ToolkitError> {
  const text = await response.text().catch(() => "");
  const status = response.status;
  const tunnelDown = tunnelNotConnected(target, status, text);
  if (tunnelDown) return tunnelDown;
  if (status === 502 || status === 504) {
    return new ToolkitError(
      "unreachable",
      `the tunnel to ${target} is up but the toolkit behind it did not answer (HTTP ${status}): is the AI ` +
        `Toolkit server running on port 8012? ${TUNNEL_GUIDE}`,
      status,
      "toolkit",
    );
  }
  if (status === 422) {
    return new ToolkitError(
      "http",
      `the toolkit rejected the ${what} request as malformed (HTTP 422): ${text.slice(0, 300)}. This is a ` +
        `bug in the Worker or a toolkit of another version: check the toolkit's version with check_connection`,
      status,
    );
  }
  if (status === 401 || status === 403) {
    return new ToolkitError(
      "http",
      `the toolkit at ${target} refused the Worker (HTTP ${status}): check CF_ACCESS_CLIENT_ID and ` +
        `CF_ACCESS_CLIENT_SECRET, ${TUNNEL_GUIDE}`,
      status,
      "access",
    );
  }
  return new ToolkitError(
    "http",
    `the toolkit at ${target} failed ${what} with HTTP ${status}${text ? `: ${text.slice(0, 300)}` : ""}. ` +
      `Check the toolkit's console on the LAN box`,
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
        `Cloudflare Access answered ${what} with its login page instead of the toolkit: the service token ` +
          `was not accepted. Check CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET and the Access policy, see ` +
          `tunnel/README.md`,
        response.status,
        "access",
      );
    }
    throw new ToolkitError(
      "protocol",
      `the toolkit's answer to ${what} is not JSON (${describeBody(response, text)}): is AI_TOOLKIT_URL ` +
        `(or the VPC service) pointing at the AI Toolkit server on port 8012? ${TUNNEL_GUIDE}`,
    );
  }
}

function parseResult<S extends z.ZodType>(tool: string, schema: S, result: unknown): z.infer<S> {
  const parsed = schema.safeParse(result);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ToolkitError(
      "protocol",
      `the toolkit's result for ${tool} has an unexpected shape ` +
        `(${issue ? `${issue.path.join(".") || "result"}: ${issue.message}` : "invalid"}): is it a ` +
        `compatible AI Toolkit server version?`,
    );
  }
  return parsed.data;
}
