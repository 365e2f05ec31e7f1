import {
  describeBody,
  describeNetworkError,
  formatSeconds,
  ToolkitError,
  tunnelNotConnected,
  TUNNEL_GUIDE,
} from "../errors";
import type { ToolkitTransport } from "../transport";
import { uiErrorSchema } from "./schemas";

/**
 * How every failure between the Worker and ai-toolkit's UI becomes a ToolkitError whose message
 * says what happened and what to do next. The UI's own failures are `{error}` answers with a
 * 4xx/5xx status; everything else (Cloudflare, Access, a login page, the original bridge, some
 * other server) is recognised by its shape. No message ever holds the UI token, and answers
 * marked secret (the settings, which hold the user's HF_TOKEN) are never quoted.
 */

/** What the UI client needs to know to talk and to explain itself. */
export interface UiContext {
  readonly transport: ToolkitTransport;
  /** The token the UI was started with (its AI_TOOLKIT_AUTH), if any. Never in a message. */
  readonly token: string | undefined;
  readonly timeoutMs: number;
  /** What points the Worker at the UI, named where the target looks wrong. */
  readonly setting: string;
}

/** The call a failure belongs to. */
export interface UiCall {
  method: "GET" | "POST";
  /** Path and query, encoded. */
  path: string;
  /** What the call does, as a verb phrase: "start job <id>". */
  action: string;
  /** The answer holds a secret: never quote its body. */
  secret?: boolean;
  /** A clearer message for one of the UI's `{error}` answers (e.g. 409 duplicate name). */
  explain?: (status: number, message: string) => string | undefined;
}

export const UI = "ai-toolkit's UI";
export const UI_RUNNING = "is ai-toolkit's UI running on port 8675 (cd ui && npm run build_and_start)?";
const UI_CONSOLE = "look at the UI's console (the terminal running npm run build_and_start)";

/** The setting a user changes to point the Worker somewhere else, by transport. */
export function defaultSetting(kind: ToolkitTransport["kind"]): string {
  return { vpc: "the TOOLKIT VPC service", access: "AI_TOOLKIT_URL", direct: "AI_TOOLKIT_HOST/AI_TOOLKIT_PORT" }[kind];
}

/** "GET /api/jobs/<id>/log": the call without its query, for messages. */
export function labelOf(call: Pick<UiCall, "method" | "path">): string {
  return `${call.method} ${call.path.split("?")[0] ?? call.path}`;
}

function notTheUi(ctx: UiContext): string {
  return `the target is probably not ai-toolkit's UI: point ${ctx.setting} at the UI (port 8675), ${TUNNEL_GUIDE}`;
}

export function timedOut(ctx: UiContext, call: UiCall, ms: number): ToolkitError {
  return new ToolkitError(
    "timeout",
    `${UI} at ${ctx.transport.target} did not answer ${labelOf(call)} within ${formatSeconds(ms)}: is the ` +
      `tunnel running and the UI up? ${TUNNEL_GUIDE}`,
  );
}

/** The headers came through (so reach, Access and tunnel worked), then the body stopped. */
export function stalled(ctx: UiContext, call: UiCall, ms: number, resume = ""): ToolkitError {
  return new ToolkitError(
    "timeout",
    `${UI} at ${ctx.transport.target} began answering ${labelOf(call)} but then sent nothing for ` +
      `${formatSeconds(ms)} (the UI, or the tunnel carrying its answer, stalled after the headers)${resume}: ` +
      `try again, and if it keeps stalling ${UI_CONSOLE}`,
    undefined,
    "toolkit",
  );
}

export function unreachable(ctx: UiContext, call: UiCall, error: unknown): ToolkitError {
  return new ToolkitError(
    "unreachable",
    `${UI} at ${ctx.transport.target} could not be reached for ${labelOf(call)} ` +
      `(${describeNetworkError(error)}): is the tunnel running? ${TUNNEL_GUIDE}`,
  );
}

/** A non-2xx answer, read as far as `text`. */
export function statusFailure(ctx: UiContext, call: UiCall, response: Response, text: string): ToolkitError {
  const { status } = response;
  const target = ctx.transport.target;
  const label = labelOf(call);
  const tunnelDown = tunnelNotConnected(target, status, text);
  if (tunnelDown) return tunnelDown;
  if (status === 502 && text.includes("UI server unavailable")) {
    return new ToolkitError(
      "unreachable",
      `${UI} at ${target} is up but its Next.js server is not (HTTP 502 "UI server unavailable"): it is ` +
        `still building or it crashed; ${UI_CONSOLE}`,
      status,
      "toolkit",
    );
  }
  if (status === 502 || status === 504) {
    return new ToolkitError(
      "unreachable",
      `the tunnel to ${target} is up but nothing answered behind it (HTTP ${status}): ${UI_RUNNING} ${TUNNEL_GUIDE}`,
      status,
      "toolkit",
    );
  }
  const uiError = parseUiError(text);
  if (status === 401 && uiError === "Unauthorized") return refusedToken(ctx, label);
  if (status === 401 || status === 403) {
    return new ToolkitError(
      "http",
      `${target} refused the Worker (HTTP ${status}) before ${UI} could answer ${label}: check ` +
        `CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET, ${TUNNEL_GUIDE}`,
      status,
      "access",
    );
  }
  if (uiError !== undefined) {
    const message = call.secret ? "(its message is withheld: this answer can hold secrets)" : uiError.slice(0, 300);
    return new ToolkitError(
      "tool",
      call.explain?.(status, uiError) ?? `${UI} could not ${call.action}: ${message} (HTTP ${status}); ${UI_CONSOLE}`,
      status,
    );
  }
  if (status === 404) {
    const bridge = /"detail"\s*:/.test(text)
      ? " (its 404 looks like FastAPI's: the original bridge on port 8012 answers there)"
      : "";
    return new ToolkitError(
      "protocol",
      `${target} has no ${label} (HTTP 404)${bridge}: it is not ai-toolkit's UI, or a UI older than this ` +
        `Worker needs. Point ${ctx.setting} at the UI (port 8675), or update ai-toolkit (git pull, then npm ` +
        `run build_and_start in ui/)`,
      status,
    );
  }
  if (status === 413) {
    return new ToolkitError(
      "http",
      `${target} refused ${label} as too large (HTTP 413): Cloudflare takes request bodies up to 100 MB ` +
        `through a tunnel hostname (more on paid plans); send fewer files per request`,
      status,
      "tunnel",
    );
  }
  const excerpt = call.secret || text === "" ? "" : `: ${text.slice(0, 300)}`;
  return new ToolkitError(
    "http",
    `${UI} at ${target} failed ${label} with HTTP ${status}${excerpt}; ${UI_CONSOLE}`,
    status,
  );
}

/** The UI middleware's 401: the token is missing or not the one the UI was started with. */
function refusedToken(ctx: UiContext, label: string): ToolkitError {
  const message = ctx.token
    ? `${UI} at ${ctx.transport.target} refused the token in AI_TOOLKIT_AUTH (HTTP 401 on ${label}): the ` +
      `token in AI_TOOLKIT_AUTH is wrong. Set it to exactly the AI_TOOLKIT_AUTH the UI was started with (npx ` +
      `wrangler secret put AI_TOOLKIT_AUTH)`
    : `${UI} at ${ctx.transport.target} requires a token (HTTP 401 on ${label}): it was started with ` +
      `AI_TOOLKIT_AUTH. Set AI_TOOLKIT_AUTH to the token the UI was started with (npx wrangler secret put ` +
      `AI_TOOLKIT_AUTH)`;
  return new ToolkitError("http", message, 401, "toolkit");
}

/** A 2xx answer that is not JSON: Access's login page, a web page, a cut-off body. */
export function notJson(ctx: UiContext, call: UiCall, response: Response, text: string): ToolkitError {
  // Cloudflare Access answers an unauthenticated request with its login page (HTTP 200).
  if (/cloudflareaccess\.com|cf-access|Cloudflare Access/i.test(text)) {
    return new ToolkitError(
      "protocol",
      `Cloudflare Access answered ${labelOf(call)} with its login page instead of ${UI}: the service token ` +
        `was not accepted. Check CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET and the Access policy, ` +
        `${TUNNEL_GUIDE}`,
      response.status,
      "access",
    );
  }
  const what = call.secret
    ? `${response.headers.get("content-type") ?? "no content type"}, ${text.length} characters`
    : describeBody(response, text);
  return new ToolkitError(
    "protocol",
    `the answer of ${ctx.transport.target} to ${labelOf(call)} is not JSON (${what}): ${notTheUi(ctx)}`,
    response.status,
  );
}

/** JSON of the wrong shape. The issue names a path and a type, never a value. */
export function wrongShape(
  ctx: UiContext,
  call: UiCall,
  issue: { path: PropertyKey[]; message: string } | undefined,
): ToolkitError {
  const where = issue ? `${issue.path.map(String).join(".") || "answer"}: ${issue.message}` : "invalid";
  return new ToolkitError(
    "protocol",
    `the answer of ${ctx.transport.target} to ${labelOf(call)} has an unexpected shape (${where}): ` +
      `${notTheUi(ctx)}; if it is the UI, it is a version this Worker does not know (update ai-toolkit)`,
  );
}

function parseUiError(text: string): string | undefined {
  try {
    const parsed = uiErrorSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.error : undefined;
  } catch {
    return undefined;
  }
}
