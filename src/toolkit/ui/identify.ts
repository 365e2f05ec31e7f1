import { ToolkitError } from "../errors";
import type { ToolkitTransport } from "../transport";
import { defaultSetting, notJson, statusFailure, type UiCall, type UiContext } from "./failures";
import { readText, sendUi } from "./http";
import { uiAuthSchema } from "./schemas";

/**
 * Which upstream answers on a transport, for diagnosis: the original bridge (`GET /health` says
 * "AI Toolkit MCP Server"), ai-toolkit's UI (`GET /api/auth` answers `{isAuthenticated:true}`,
 * or its middleware's 401 `{"error":"Unauthorized"}`), something else, or nothing. The bridge is
 * asked first and without the token, so the token goes only to a target that may be the UI;
 * no result or message holds it.
 */
export type UpstreamIdentity =
  | { kind: "bridge"; latencyMs: number; version?: string }
  /** `authenticated` false: the UI refused the token (or wants one); `detail` says which and what to set. */
  | { kind: "ui"; latencyMs: number; authenticated: boolean; detail: string }
  | { kind: "neither"; latencyMs: number; detail: string }
  /** Nothing answered, or Cloudflare or Access did instead; `failure.hop` names the hop. */
  | { kind: "unreachable"; latencyMs: number; detail: string; failure: ToolkitError };

const BRIDGE_SERVER = "AI Toolkit MCP Server";

export async function identifyUpstream(
  transport: ToolkitTransport,
  options: { token?: string; timeoutMs: number; setting?: string },
): Promise<UpstreamIdentity> {
  const started = Date.now();
  const ctx: UiContext = {
    transport,
    token: options.token || undefined,
    timeoutMs: options.timeoutMs,
    setting: options.setting ?? defaultSetting(transport.kind),
  };
  const latency = () => Date.now() - started;
  try {
    const health = await probe(
      { ...ctx, token: undefined },
      { method: "GET", path: "/health", action: "say whether it is healthy" },
    );
    const body = jsonOf(health.text) as { server?: unknown; version?: unknown } | undefined;
    if (health.response.ok && body?.server === BRIDGE_SERVER) {
      return {
        kind: "bridge",
        latencyMs: latency(),
        ...(typeof body.version === "string" ? { version: body.version } : {}),
      };
    }
    const nextJs = /next\.js/i.test(health.response.headers.get("x-powered-by") ?? "");
    const authCall: UiCall = { method: "GET", path: "/api/auth", action: "check the token" };
    const auth = await probe(ctx, authCall);
    if (auth.response.ok && uiAuthSchema.safeParse(jsonOf(auth.text)).success) {
      return {
        kind: "ui",
        latencyMs: latency(),
        authenticated: true,
        detail: "ai-toolkit's UI answered and accepted the token (or needs none)",
      };
    }
    const failure = statusFailure(ctx, authCall, auth.response, auth.text);
    if (auth.response.status === 401 && failure.status === 401 && failure.hop === "toolkit") {
      return { kind: "ui", latencyMs: latency(), authenticated: false, detail: failure.message };
    }
    const what = `${auth.response.status} ${auth.response.headers.get("content-type") ?? "without a content type"}`;
    return {
      kind: "neither",
      latencyMs: latency(),
      detail:
        `${transport.target} answered, but neither as the original bridge (GET /health) nor as ` +
        `ai-toolkit's UI (GET /api/auth answered ${what})` +
        (`${nextJs ? "; a Next.js app answers there, perhaps a UI too old to have /api/auth" : ""}: point ` +
          `${ctx.setting} at the bridge (port 8012) or the UI (port 8675)`),
    };
  } catch (error) {
    if (!(error instanceof ToolkitError)) throw error;
    return { kind: "unreachable", latencyMs: latency(), detail: error.message, failure: error };
  }
}

/**
 * One GET within the timeout, read as text. Throws a ToolkitError when nothing answered or when
 * Cloudflare (no tunnel) or Access (refused service token, login page) answered instead.
 */
async function probe(ctx: UiContext, call: UiCall): Promise<{ response: Response; text: string }> {
  const signal = AbortSignal.timeout(ctx.timeoutMs);
  const response = await sendUi(ctx, call, { signal, timeoutMs: ctx.timeoutMs, timedOut: () => signal.aborted });
  const text = await readText(response, signal, 256 * 1024).catch(() => "");
  if (!response.ok) {
    const failure = statusFailure(ctx, call, response, text);
    if (failure.kind === "unreachable" || failure.hop === "access" || failure.hop === "tunnel") throw failure;
  } else if (jsonOf(text) === undefined) {
    const failure = notJson(ctx, call, response, text);
    if (failure.hop === "access") throw failure;
  }
  return { response, text };
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
