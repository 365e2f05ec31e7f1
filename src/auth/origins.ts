import { localhostAllowedOrigins } from "@modelcontextprotocol/server";
import type { Config } from "../config";

/**
 * Which browser pages may call /mcp: the `allowedOriginHostnames` option of createMcpHandler.
 *
 * A request without an Origin header (every desktop and command-line MCP client) is never
 * affected. A browser always sends one, and the MCP handler refuses it (403) unless its host
 * is listed. What it lists by default: loopback pages (localhost, 127.0.0.1, [::1]) and,
 * only on a workers.dev hostname, the endpoint itself. On a custom domain that leaves out
 * every hosted browser client, hence ALLOWED_ORIGINS.
 *
 * The handler compares host names only (any scheme, any port). ALLOWED_ORIGINS names exact
 * origins, so a configured host is put on the list only for a request whose Origin is exactly
 * one of them: `https://app.example.com` listed does not let `http://app.example.com` or
 * `https://app.example.com:8443` in. The Worker's own origin is allowed the same way: its
 * pages are its own.
 */
export function mcpOriginOptions(
  config: Pick<Config, "ALLOWED_ORIGINS">,
  request?: Request,
): { allowedOriginHostnames: string[] } {
  const hostnames = new Set(localhostAllowedOrigins());
  if (!request) return { allowedOriginHostnames: [...hostnames] };
  const endpoint = new URL(request.url);
  if (endpoint.hostname.endsWith(".workers.dev")) hostnames.add(endpoint.hostname);
  const origin = request.headers.get("Origin");
  if (origin && (origin === endpoint.origin || config.ALLOWED_ORIGINS.includes(origin))) {
    hostnames.add(new URL(origin).hostname);
  }
  return { allowedOriginHostnames: [...hostnames] };
}
