import type { Config } from "../config";
import { ToolkitClient } from "./bridge/client";
import type { ToolkitError } from "./errors";
import type { ToolkitTransport } from "./transport";

/**
 * Walks the path from the Worker to the toolkit hop by hop and names the first broken one,
 * with its fix. Used by the check_connection tool (from inside the Worker, where the VPC
 * binding exists) and by `npm run doctor` (from a terminal).
 *
 *   configuration -> reach (binding / hostname answers) -> access (service token accepted)
 *   -> tunnel (cloudflared connected) -> toolkit (/health answers) -> version and latency
 */
export type HopName = "configuration" | "reach" | "access" | "tunnel" | "toolkit";

export interface Hop {
  hop: HopName;
  ok: boolean;
  detail: string;
  /** What to do, for the first hop that failed. */
  fix?: string;
}

export interface Diagnosis {
  ok: boolean;
  transport: ToolkitTransport["kind"];
  hops: Hop[];
  version?: string | undefined;
  latencyMs?: number;
}

const GUIDE = "tunnel/README.md";

export async function diagnose(config: Config, transport: ToolkitTransport): Promise<Diagnosis> {
  const hops: Hop[] = [configurationHop(config, transport)];
  const client = new ToolkitClient(transport, Math.min(config.TOOLKIT_TIMEOUT_MS, 15_000));
  const health = await client.health();
  if (health.ok) {
    const what = {
      vpc: "the VPC binding answered",
      access: "the tunnel hostname answered",
      direct: "the toolkit's address answered",
    }[transport.kind];
    hops.push({ hop: "reach", ok: true, detail: what });
    if (transport.kind === "access")
      hops.push({ hop: "access", ok: true, detail: "Cloudflare Access let the service token through" });
    if (transport.kind !== "direct") hops.push({ hop: "tunnel", ok: true, detail: "cloudflared is connected" });
    hops.push({
      hop: "toolkit",
      ok: true,
      detail:
        `${health.server ?? "the toolkit"} ${health.version ?? "(version unknown)"} answered /health in ` +
        `${health.latencyMs} ms`,
    });
    return { ok: true, transport: transport.kind, hops, version: health.version, latencyMs: health.latencyMs };
  }
  hops.push(...failedHops(config, transport, health.failure, health.error ?? "no answer"));
  return { ok: false, transport: transport.kind, hops, latencyMs: health.latencyMs };
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
    case "toolkit":
      return status !== undefined && status >= 500
        ? {
            detail: `the tunnel is up but the toolkit answered HTTP ${status}`,
            fix:
              `Start the AI Toolkit server on the LAN box (port ${config.AI_TOOLKIT_PORT}) and check the ` +
              `tunnel's ingress points at ${config.AI_TOOLKIT_HOST}:${config.AI_TOOLKIT_PORT}. See ${GUIDE}.`,
          }
        : {
            detail: message,
            fix:
              `Something other than the AI Toolkit server answers there: check the address or hostname. See ` +
              `${GUIDE}.`,
          };
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
  lines.push(
    diagnosis.ok
      ? `The toolkit is reachable (${diagnosis.latencyMs} ms).`
      : "The toolkit is not reachable: fix the first FAIL above.",
  );
  return lines.join("\n");
}
