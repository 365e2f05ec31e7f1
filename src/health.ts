import { readConfig } from "./config";
import { ToolkitClient } from "./toolkit/client";
import { selectTransport } from "./toolkit/transport";
import { WORKER_NAME, WORKER_VERSION } from "./version";

/**
 * GET /health, unauthenticated: is the Worker up, and does the toolkit answer through the
 * configured transport? It names the transport kind but never its target or any secret.
 */
export async function healthResponse(env: Env): Promise<Response> {
  const config = readConfig(env);
  const transport = selectTransport(config, env.TOOLKIT);
  const toolkit = await new ToolkitClient(transport, Math.min(config.TOOLKIT_TIMEOUT_MS, 10_000)).health();
  const body = {
    status: toolkit.ok ? "ok" : "degraded",
    worker: { name: WORKER_NAME, version: WORKER_VERSION },
    toolkit: {
      transport: transport.kind,
      reachable: toolkit.ok,
      latency_ms: toolkit.latencyMs,
      ...(toolkit.version ? { version: toolkit.version } : {}),
      ...(toolkit.ok ? {} : { hint: "the toolkit does not answer: run `npm run doctor` or see tunnel/README.md" }),
    },
  };
  return Response.json(body, { status: toolkit.ok ? 200 : 503, headers: { "Cache-Control": "no-store" } });
}
