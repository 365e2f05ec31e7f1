import {
  DEFAULT_MAX_REQUEST_BODY_SIZE,
  hostHeaderValidationResponse,
  isLegacyRequest,
  localhostAllowedHostnames,
  originValidationResponse,
  readRequestBody,
  WebStandardStreamableHTTPServerTransport,
  type AuthInfo,
  type McpServer,
} from "@modelcontextprotocol/server";
import { createMcpHandler } from "agents/mcp/server";
import { mcpOriginOptions } from "../auth/origins";
import type { Config } from "../config";

/**
 * The /mcp endpoint for one request, once the OAuth check has let it through.
 *
 * The body is read and parsed once, here, and handed on parsed. Clients of the 2025 protocol
 * revisions (MCP SDK 1.x: claude.ai, Claude Code and the Inspector today) are answered on the
 * SDK's stateless transport with a plain JSON answer, unless the call asked for progress
 * (`_meta.progressToken`), which only an event stream can carry. One JSON body with its length
 * costs every layer in front of the Worker far less than a streamed, chunked event stream, and
 * Agents' own 2025 lane always streams. This is the SDK's documented way to serve those clients
 * yourself: `isLegacyRequest` in front of its handler. Newer clients, and everything that is not
 * a JSON POST, go to the Agents SDK's handler as before.
 */

export interface McpCaller {
  /** What the SDK shows a tool of its caller (`call.http.authInfo`); the grant's props in `extra.props`. */
  authInfo?: AuthInfo;
}

/**
 * The caller as the OAuth provider left it on the execution context for a valid token
 * (`ctx.props`, and `ctx.auth`: token, audience, expiry, scopes, client), in the SDK's shape,
 * as the Agents handler maps it. Nothing when the context carries no such token.
 */
export function callerOf(ctx: ExecutionContext): McpCaller {
  const { auth, props } = ctx as ExecutionContext & { auth?: unknown; props?: unknown };
  if (typeof auth !== "object" || auth === null) return {};
  const { token, audience, expiresAt, scope, clientId } = auth as Record<string, unknown>;
  if (typeof token !== "string" || typeof clientId !== "string" || typeof audience !== "string") return {};
  if (!Array.isArray(scope) || !scope.every((entry) => typeof entry === "string")) return {};
  if (!URL.canParse(audience)) return {};
  return {
    authInfo: {
      token,
      clientId,
      scopes: [...scope],
      ...(typeof expiresAt === "number" ? { expiresAt } : {}),
      resource: new URL(audience),
      extra: { props: typeof props === "object" && props !== null ? props : {} },
    },
  };
}

/** A request-scoped McpServer, built afresh for each request. */
export type ServerFactory = () => McpServer;

export async function serveMcp(
  request: Request,
  config: Pick<Config, "ALLOWED_ORIGINS">,
  buildServer: ServerFactory,
  caller: McpCaller,
): Promise<Response> {
  const origins = mcpOriginOptions(config, request);
  // Built only for the requests it answers: most are answered here.
  const forward = (body: unknown, forwarded = request) =>
    createMcpHandler(buildServer, { route: "/mcp", ...origins }).fetch(forwarded, {
      ...(body !== undefined ? { parsedBody: body } : {}),
      ...(caller.authInfo ? { authInfo: caller.authInfo } : {}),
    });
  const url = new URL(request.url);
  if (request.method !== "POST" || url.pathname !== "/mcp") return forward(undefined);

  const refused = hostOrOriginRefusal(request, url, origins.allowedOriginHostnames);
  if (refused) return refused;

  const read = await readRequestBody(request, DEFAULT_MAX_REQUEST_BODY_SIZE).catch(() => undefined);
  if (read?.tooLarge) return tooLarge();
  // Unreadable: the Agents handler answers that as it always has.
  if (read === undefined) return forward(undefined, withBody(request, null));
  let body: unknown;
  try {
    body = read.text === "" ? undefined : JSON.parse(read.text);
  } catch {
    body = undefined;
  }
  // Not JSON: the Agents handler says what is wrong with it, from the text.
  if (body === undefined) return forward(undefined, withBody(request, read.text));
  if (!(await isLegacyRequest(request, body))) return forward(body);
  return serveLegacy(request, body, buildServer, caller);
}

/** As the SDK answers a body over its limit, saying where large data goes instead. */
function tooLarge(): Response {
  const limit = `${DEFAULT_MAX_REQUEST_BODY_SIZE / 1024 / 1024} MiB`;
  const message =
    `Request body too large: an MCP request may carry at most ${limit}. Send datasets through an ` +
    "upload session (create_dataset_upload) instead.";
  return Response.json({ jsonrpc: "2.0", error: { code: -32000, message }, id: null }, { status: 413 });
}

/** The same request with its body put back (it was read here). */
function withBody(request: Request, text: string | null): Request {
  return new Request(request.url, { method: request.method, headers: request.headers, body: text });
}

/**
 * The checks the Agents handler makes before anything else, made here for the requests answered
 * here: a loopback endpoint answers only to loopback Host names (DNS rebinding), a workers.dev one
 * only to itself, and a browser page only from an allowed origin (auth/origins.ts).
 */
function hostOrOriginRefusal(request: Request, url: URL, allowedOriginHostnames: string[]): Response | undefined {
  const { hostname } = url;
  const loopback = localhostAllowedHostnames();
  const accepted = loopback.includes(hostname) ? loopback : hostname.endsWith(".workers.dev") ? [hostname] : undefined;
  return (
    (accepted ? hostHeaderValidationResponse(request, accepted) : undefined) ??
    originValidationResponse(request, allowedOriginHostnames)
  );
}

/** Whether any message asks for progress notifications, which need an event stream to travel. */
function asksForProgress(body: unknown): boolean {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.some((message) => {
    const params = (message as { params?: { _meta?: { progressToken?: unknown } } } | null)?.params;
    return params?._meta?.progressToken !== undefined;
  });
}

/** One 2025-era exchange on a fresh server and stateless transport, both closed once it is answered. */
async function serveLegacy(
  request: Request,
  body: unknown,
  buildServer: ServerFactory,
  caller: McpCaller,
): Promise<Response> {
  const server = buildServer();
  const transport = new WebStandardStreamableHTTPServerTransport({
    sessionIdGenerator: undefined,
    enableJsonResponse: !asksForProgress(body),
  });
  let closed: Promise<unknown> | undefined;
  const close = () => (closed ??= Promise.allSettled([transport.close(), server.close()]));
  request.signal.addEventListener("abort", close, { once: true });
  try {
    await server.connect(transport);
    const response = await transport.handleRequest(request, {
      parsedBody: body,
      ...(caller.authInfo ? { authInfo: caller.authInfo } : {}),
    });
    if (!response.body || !response.headers.get("content-type")?.includes("text/event-stream")) {
      await close();
      return response;
    }
    // A streamed answer: the server lives until its stream ends or the client goes away.
    const reader = response.body.getReader();
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await reader.read();
          if (next.done) {
            controller.close();
            await close();
          } else controller.enqueue(next.value);
        } catch (error) {
          controller.error(error);
          await close();
        }
      },
      async cancel(reason) {
        await reader.cancel(reason).catch(() => {});
        await close();
      },
    });
    return new Response(stream, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  } catch {
    await close();
    // As the Agents handler answers a failure it did not expect: nothing of it leaks out.
    const id = (body as { id?: unknown } | null)?.id;
    return Response.json(
      {
        jsonrpc: "2.0",
        error: { code: -32603, message: "Internal server error" },
        id: typeof id === "string" || typeof id === "number" ? id : null,
      },
      { status: 500 },
    );
  }
}
