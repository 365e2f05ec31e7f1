import type { Config } from "../config";

/**
 * How the Worker reaches the LAN toolkit. Exactly one transport is chosen per request, in
 * this order of preference (see tunnel/README.md for setting each up):
 *  1. "vpc": a Workers VPC service binding named TOOLKIT (no public hostname exists at all);
 *  2. "access": AI_TOOLKIT_URL, a tunnel hostname behind Cloudflare Access, with the
 *     service token's headers on every request;
 *  3. "direct": http://AI_TOOLKIT_HOST:AI_TOOLKIT_PORT (wrangler dev next to the toolkit).
 */
export type TransportKind = "vpc" | "access" | "direct";

export interface ToolkitTransport {
  readonly kind: TransportKind;
  /** Human-readable target for error messages and /health: never contains a secret. */
  readonly target: string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/** The binding surface we need from a Workers VPC service (a Fetcher). */
export interface ToolkitBinding {
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
}

export function selectTransport(config: Config, binding: ToolkitBinding | undefined): ToolkitTransport {
  if (binding) {
    // The VPC service decides host and port; the URL only sets the Host header and path.
    const origin = `http://${config.AI_TOOLKIT_HOST}:${config.AI_TOOLKIT_PORT}`;
    return {
      kind: "vpc",
      target: `the Workers VPC binding TOOLKIT (${config.AI_TOOLKIT_HOST}:${config.AI_TOOLKIT_PORT})`,
      fetch: (path, init) => binding.fetch(new URL(path, origin).toString(), init),
    };
  }
  if (config.AI_TOOLKIT_URL) {
    const base = config.AI_TOOLKIT_URL.replace(/\/+$/, "");
    const accessHeaders: Record<string, string> =
      config.CF_ACCESS_CLIENT_ID && config.CF_ACCESS_CLIENT_SECRET
        ? {
            "CF-Access-Client-Id": config.CF_ACCESS_CLIENT_ID,
            "CF-Access-Client-Secret": config.CF_ACCESS_CLIENT_SECRET,
          }
        : {};
    return {
      kind: "access",
      target: base,
      fetch: (path, init) => fetch(`${base}${path}`, withHeaders(init, accessHeaders)),
    };
  }
  const origin = `http://${config.AI_TOOLKIT_HOST}:${config.AI_TOOLKIT_PORT}`;
  return {
    kind: "direct",
    target: origin,
    fetch: (path, init) => fetch(`${origin}${path}`, init),
  };
}

function withHeaders(init: RequestInit | undefined, extra: Record<string, string>): RequestInit {
  const headers = new Headers(init?.headers);
  for (const [name, value] of Object.entries(extra)) headers.set(name, value);
  return { ...init, headers };
}
