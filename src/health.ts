import { readConfig } from "./config";
import { diagnose } from "./toolkit/diagnose";
import { selectTransport } from "./toolkit/transport";
import { WORKER_NAME, WORKER_VERSION } from "./common";

/**
 * GET /health, unauthenticated: is the Worker up, and does the toolkit answer through the
 * configured transport, as the API AI_TOOLKIT_API names? It walks the same hops as check_connection but publishes only
 * their names and outcomes: never a target, a message or a secret. `npm run doctor --
 * --worker <url>` reads it to say which hop of a VPC binding is broken.
 */
export async function healthResponse(env: Env): Promise<Response> {
  const config = readConfig(env);
  const transport = selectTransport(config, env.TOOLKIT);
  const diagnosis = await diagnose(
    { ...config, TOOLKIT_TIMEOUT_MS: Math.min(config.TOOLKIT_TIMEOUT_MS, 10_000) },
    transport,
  );
  const failed = diagnosis.hops.find((hop) => !hop.ok);
  const body = {
    status: diagnosis.ok ? "ok" : "degraded",
    worker: { name: WORKER_NAME, version: WORKER_VERSION },
    toolkit: {
      transport: transport.kind,
      reachable: diagnosis.ok,
      latency_ms: diagnosis.latencyMs,
      ...(diagnosis.version ? { version: diagnosis.version } : {}),
      // Which API the Worker speaks and which answered (null: nothing did); for the UI, whether
      // it took the token. Names only: never the token itself.
      api: diagnosis.api,
      answering: diagnosis.answering ?? null,
      ...(diagnosis.authenticated !== undefined ? { authenticated: diagnosis.authenticated } : {}),
      hops: diagnosis.hops.map(({ hop, ok }) => ({ hop, ok })),
      ...(failed
        ? {
            failed_hop: failed.hop,
            hint: "run `npm run doctor` or call the check_connection tool; see tunnel/README.md",
          }
        : {}),
    },
  };
  return Response.json(body, { status: diagnosis.ok ? 200 : 503, headers: { "Cache-Control": "no-store" } });
}
