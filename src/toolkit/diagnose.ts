import type { Config } from "../config";
import type { ToolkitError } from "./errors";
import type { ToolkitTransport } from "./transport";
import { defaultSetting } from "./ui/failures";
import { identifyUpstream, type UpstreamIdentity } from "./ui/identify";
import type { UpstreamKind } from "./upstream";

/**
 * Walks the path from the Worker to the toolkit hop by hop and names the first broken one,
 * with its fix. Used by the check_connection tool (from inside the Worker, where the VPC
 * binding exists), by /health and by `npm run doctor` (from a terminal).
 *
 *   configuration -> reach (binding / hostname answers) -> access (service token accepted)
 *   -> tunnel (cloudflared connected) -> toolkit (which API answers: the one AI_TOOLKIT_API
 *   names, and for the UI, whether it takes AI_TOOLKIT_AUTH) -> version and latency
 */
export type HopName = "configuration" | "reach" | "access" | "tunnel" | "toolkit";

export interface Hop {
  hop: HopName;
  ok: boolean;
  detail: string;
  /** What to do, for the first hop that failed. */
  fix?: string;
}

/** Which API answered at the target: the bridge, ai-toolkit's UI, or some other server. */
export type AnsweringApi = UpstreamKind | "neither";

export interface Diagnosis {
  ok: boolean;
  transport: ToolkitTransport["kind"];
  /** The API the Worker speaks (AI_TOOLKIT_API). */
  api: UpstreamKind;
  /** The API that answered at the target; absent when nothing did. */
  answering?: AnsweringApi | undefined;
  /** ai-toolkit's UI only: whether it accepted AI_TOOLKIT_AUTH (or needs no token). */
  authenticated?: boolean | undefined;
  hops: Hop[];
  version?: string | undefined;
  latencyMs?: number;
}

const GUIDE = "tunnel/README.md";
const UI = "ai-toolkit's UI";
const BRIDGE = "the original bridge (AI Toolkit MCP Server)";

/** What to do when ai-toolkit's UI refuses the Worker's token or wants one (also `npm run doctor -- --worker`). */
export const UI_TOKEN_FIX =
  `Set AI_TOOLKIT_AUTH to exactly the token ${UI} was started with (its own AI_TOOLKIT_AUTH): npx ` +
  `wrangler secret put AI_TOOLKIT_AUTH, or AI_TOOLKIT_AUTH=... in .dev.vars for wrangler dev.`;

export async function diagnose(config: Config, transport: ToolkitTransport): Promise<Diagnosis> {
  const hops: Hop[] = [configurationHop(config, transport)];
  const api = config.AI_TOOLKIT_API;
  const identity = await identifyUpstream(transport, {
    token: config.AI_TOOLKIT_AUTH ?? "",
    timeoutMs: Math.min(config.TOOLKIT_TIMEOUT_MS, 15_000),
  });
  const base = { transport: transport.kind, api, latencyMs: identity.latencyMs };
  if (identity.kind === "unreachable") {
    hops.push(...failedHops(config, transport, identity.failure, identity.detail));
    return { ok: false, ...base, hops };
  }
  // Something answered: every hop up to the toolkit's own works.
  const what = {
    vpc: "the VPC binding answered",
    access: "the tunnel hostname answered",
    direct: "the toolkit's address answered",
  }[transport.kind];
  hops.push({ hop: "reach", ok: true, detail: what });
  if (transport.kind === "access")
    hops.push({ hop: "access", ok: true, detail: "Cloudflare Access let the service token through" });
  if (transport.kind !== "direct") hops.push({ hop: "tunnel", ok: true, detail: "cloudflared is connected" });
  const toolkit = toolkitHop(config, transport, identity);
  hops.push(toolkit);
  const version = identity.kind === "bridge" ? identity.version : undefined;
  return {
    ok: toolkit.ok,
    ...base,
    answering: identity.kind,
    ...(identity.kind === "ui" ? { authenticated: identity.authenticated } : {}),
    hops,
    ...(version ? { version } : {}),
  };
}

/** The toolkit hop once something answered: is it the API AI_TOOLKIT_API names, and does it take the token? */
function toolkitHop(
  config: Config,
  transport: ToolkitTransport,
  identity: Exclude<UpstreamIdentity, { kind: "unreachable" }>,
): Hop {
  const ms = `${identity.latencyMs} ms`;
  if (identity.kind === "neither") {
    return { hop: "toolkit", ok: false, ...hopFix("toolkit", config, transport, undefined, identity.detail) };
  }
  const mismatch = upstreamMismatch(config.AI_TOOLKIT_API, identity.kind, transport);
  if (mismatch) return { hop: "toolkit", ok: false, ...mismatch };
  if (identity.kind === "bridge") {
    return {
      hop: "toolkit",
      ok: true,
      detail:
        `AI Toolkit MCP Server ${identity.version ?? "(version unknown)"} answered /health in ${ms}: the ` +
        `original bridge, as AI_TOOLKIT_API says`,
    };
  }
  if (!identity.authenticated) {
    return {
      hop: "toolkit",
      ok: false,
      detail: identity.detail,
      fix: UI_TOKEN_FIX,
    };
  }
  return {
    hop: "toolkit",
    ok: true,
    detail:
      `${UI} answered /api/auth in ${ms} and ` +
      `${config.AI_TOOLKIT_AUTH ? "accepted the token in AI_TOOLKIT_AUTH" : "needs no token"}, as ` +
      `AI_TOOLKIT_API says`,
  };
}

/**
 * When the API answering at the target is not the one AI_TOOLKIT_API names: what answers, and
 * what to set. Shared with `npm run doctor -- --worker`, which reads both from /health.
 */
export function upstreamMismatch(
  configured: UpstreamKind,
  answering: AnsweringApi,
  transport: Pick<ToolkitTransport, "kind">,
): { detail: string; fix: string } | undefined {
  if (answering === "neither" || answering === configured) return undefined;
  const setting = defaultSetting(transport.kind);
  return answering === "ui"
    ? {
        detail: `the target answers as ${UI}, but AI_TOOLKIT_API is bridge`,
        fix:
          `Set AI_TOOLKIT_API=ui and AI_TOOLKIT_AUTH (the token the UI was started with, if any), or point ` +
          `${setting} at the bridge (port 8012). See README.md, "Settings".`,
      }
    : {
        detail: `the target answers as ${BRIDGE}, but AI_TOOLKIT_API is ui`,
        fix:
          `Set AI_TOOLKIT_API=bridge (or leave it unset), or point ${setting} at ${UI} (port 8675). See ` +
          `README.md, "Settings".`,
      };
}

function configurationHop(config: Config, transport: ToolkitTransport): Hop {
  const detail = {
    vpc: "Workers VPC binding TOOLKIT",
    access:
      `tunnel hostname ${transport.target}` +
      `${config.CF_ACCESS_CLIENT_ID ? " with an Access service token" : " WITHOUT an Access service token"}`,
    direct: `direct address ${transport.target} (no TOOLKIT binding, no AI_TOOLKIT_URL)`,
  }[transport.kind];
  if (transport.kind === "access" && !(config.CF_ACCESS_CLIENT_ID && config.CF_ACCESS_CLIENT_SECRET)) {
    return {
      hop: "configuration",
      ok: false,
      detail,
      fix:
        `Set both CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET (npx wrangler secret put ...), or anyone ` +
        `who finds the hostname reaches your toolkit. See ${GUIDE}, "Access-protected hostname".`,
    };
  }
  return { hop: "configuration", ok: true, detail };
}

/** The hops that passed before the one that failed, and the failed one with its fix. */
function failedHops(
  config: Config,
  transport: ToolkitTransport,
  failure: ToolkitError | undefined,
  message: string,
): Hop[] {
  const hop = failure?.hop ?? "reach";
  // The hops of this transport, in order: everything before the failed one answered.
  const path: HopName[] = [
    "reach",
    ...(transport.kind === "access" ? (["access"] as const) : []),
    ...(transport.kind !== "direct" ? (["tunnel"] as const) : []),
    "toolkit",
  ];
  const passed = path
    .slice(0, Math.max(0, path.indexOf(hop)))
    .map((name): Hop => ({ hop: name, ok: true, detail: "passed" }));
  return [...passed, { hop, ok: false, ...hopFix(hop, config, transport, failure?.status, message) }];
}

/** What a failed hop means and how to fix it; also used by `npm run doctor -- --worker`. */
export function hopFix(
  hop: HopName,
  config: Config,
  transport: Pick<ToolkitTransport, "kind" | "target">,
  status: number | undefined,
  message: string,
): { detail: string; fix: string } {
  switch (hop) {
    case "tunnel":
      return {
        detail: `Cloudflare answered ${status ?? 530} (error 1033): no cloudflared is connected for this tunnel`,
        fix:
          `Start cloudflared on the LAN box (cd tunnel && npm run tunnel, or docker compose up -d) and check ` +
          `its token. See ${GUIDE}, "Diagnosis".`,
      };
    case "access":
      return {
        detail: "Cloudflare Access answered instead of the toolkit: the service token was not accepted",
        fix:
          `Check CF_ACCESS_CLIENT_ID / CF_ACCESS_CLIENT_SECRET against the service token, and that the ` +
          `Access application's policy is "Service Auth" for that token. See ${GUIDE}, "Access-protected ` +
          `hostname".`,
      };
    case "toolkit": {
      const server =
        config.AI_TOOLKIT_API === "ui" ? `${UI} (cd ui && npm run build_and_start)` : "the AI Toolkit server";
      return status !== undefined && status >= 500
        ? {
            detail: `the tunnel is up but the toolkit answered HTTP ${status}`,
            fix:
              `Start ${server} on the LAN box (port ${config.AI_TOOLKIT_PORT}) and check the ` +
              `tunnel's ingress points at ${config.AI_TOOLKIT_HOST}:${config.AI_TOOLKIT_PORT}. See ${GUIDE}.`,
          }
        : {
            detail: message,
            fix:
              `Something other than the AI Toolkit server (the bridge, port 8012, or ${UI}, port 8675) answers ` +
              `there: check the address or hostname. See ${GUIDE}.`,
          };
    }
    case "reach":
    case "configuration": {
      const dns = /ENOTFOUND|getaddrinfo|DNS|resolve|name not resolved/i.test(message);
      const fix =
        transport.kind === "direct"
          ? `No TOOLKIT binding and no AI_TOOLKIT_URL are set, so the Worker tries ${transport.target} ` +
            `directly, which only works from wrangler dev on the same network. Set up the tunnel (Workers ` +
            `VPC or an Access-protected hostname): ${GUIDE}.`
          : transport.kind === "access" && dns
            ? `The hostname ${transport.target} does not resolve: add it as a public hostname of your tunnel ` +
              `in the Cloudflare dashboard. See ${GUIDE}.`
            : transport.kind === "access"
              ? `Nothing answered at ${transport.target}: check the hostname and that the tunnel routes it. ` +
                `See ${GUIDE}.`
              : `The VPC binding got no answer: check the VPC service's tunnel id, host ` +
                `${config.AI_TOOLKIT_HOST} and port ${config.AI_TOOLKIT_PORT} (npx wrangler vpc service get ` +
                `...), and that cloudflared runs. See ${GUIDE}.`;
      return { detail: dns ? `DNS lookup failed: ${message}` : message, fix };
    }
  }
}

export function formatDiagnosis(diagnosis: Diagnosis): string {
  const lines = diagnosis.hops.map(
    (hop) => `${hop.ok ? "ok  " : "FAIL"} ${hop.hop}: ${hop.detail}${hop.fix ? `\n     fix: ${hop.fix}` : ""}`,
  );
  const api = diagnosis.api === "ui" ? UI : BRIDGE;
  lines.push(
    diagnosis.ok
      ? `The toolkit is reachable (${diagnosis.latencyMs} ms): ${api} answers.`
      : diagnosis.answering
        ? `The toolkit answers, but not the way AI_TOOLKIT_API=${diagnosis.api} expects: fix the first FAIL above.`
        : "The toolkit is not reachable: fix the first FAIL above.",
  );
  return lines.join("\n");
}
