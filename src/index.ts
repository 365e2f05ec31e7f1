import { OAuthProvider } from "@cloudflare/workers-oauth-provider";
import { Hono } from "hono";
import { authorizeRoutes, TOOLKIT_SCOPE } from "./auth/authorize";
import { withFrameGuard } from "./auth/frame-guard";
import { screenRegistration } from "./auth/register";
import { tokenRecords, type TokenVerdict } from "./auth/token-cache";
import { ConfigError, readConfig, requestEnv } from "./config";
import { healthResponse } from "./health";
import { mcpApiHandler, serveToolkitMcp } from "./mcp/server";
import { uploadRoutes } from "./uploads/routes";
import { downloadRoutes } from "./models/route";
import { sampleRoutes } from "./samples/route";

export { AttemptLimiter } from "./auth/attempts";
export { WorkerSecrets } from "./models/links";
export { UploadSession } from "./uploads/session";
export { TrainingJob } from "./jobs/training-job";
export { JobIndex } from "./jobs/job-index";

/** Routes that need no token: the owner's sign-in page, the health check, signed downloads and sample links. */
const publicRoutes = new Hono<{ Bindings: Env }>();
publicRoutes.route("/", authorizeRoutes);
// Staged models behind signed links: the link is the credential, so no OAuth token is needed.
publicRoutes.route("/", downloadRoutes);
// Training samples behind signed links, the same way (samples/route.ts).
publicRoutes.route("/", sampleRoutes);
// Dataset uploads: the 128-bit token in the URL is the credential (see uploads/routes.ts).
publicRoutes.route("/uploads", uploadRoutes);
publicRoutes.get("/health", (c) => healthResponse(c.env));
publicRoutes.get("/", (c) =>
  c.text(
    `AI Toolkit edge MCP. Connect your MCP client to ${new URL(c.req.url).origin}/mcp (OAuth sign-in with ` +
      `the owner password).\n`,
  ),
);

/**
 * Tokens are bound to the resource the client actually connected to (origin + /mcp), so
 * one build works on workers.dev, a custom domain and `wrangler dev` on any port, unless
 * MCP_RESOURCE pins it. The provider fixes its resource at construction, so we keep one
 * provider per resource URL (the most recently used few: a Worker answers on a handful of
 * hostnames, but `wrangler dev` takes any Host header).
 *
 * Each request gets its own copy of env (requestEnv): the provider installs its helpers as
 * `env.OAUTH_PROVIDER` only when that property is unset, so on the isolate's shared env the
 * first hostname's provider would answer /authorize for every other hostname, binding their
 * grants to the wrong resource.
 */
const providers = new Map<string, OAuthProvider<Env>>();
const MAX_PROVIDERS = 32;

function providerFor(resource: string): OAuthProvider<Env> {
  let provider = providers.get(resource);
  if (provider) {
    // Most recently used last, so the oldest is the one to drop.
    providers.delete(resource);
    providers.set(resource, provider);
  } else {
    provider = new OAuthProvider<Env>({
      apiRoute: "/mcp",
      apiHandler: mcpApiHandler,
      defaultHandler: publicRoutes,
      authorizeEndpoint: "/authorize",
      tokenEndpoint: "/token",
      clientRegistrationEndpoint: "/register",
      scopesSupported: [TOOLKIT_SCOPE],
      requiredScopes: [TOOLKIT_SCOPE],
      resourceMetadata: {
        resource,
        authorization_servers: [new URL(resource).origin],
        bearer_methods_supported: ["header"],
        resource_name: "AI Toolkit (edge MCP)",
      },
      // claude.ai identifies itself with a Client ID Metadata Document.
      clientIdMetadataDocumentEnabled: true,
    });
    providers.set(resource, provider);
    if (providers.size > MAX_PROVIDERS) providers.delete(providers.keys().next().value!);
  }
  return provider;
}

export function resourceFor(request: Request, env: Env): string {
  return readConfig(env).MCP_RESOURCE ?? `${new URL(request.url).origin}/mcp`;
}

export default {
  async fetch(request, env, ctx) {
    try {
      // Every HTML page leaves with anti-framing headers, whichever route made it.
      return withFrameGuard(await route(request, env, ctx));
    } catch (error) {
      // A bad setting stops every request: say which one and how to fix it, not a bare 500.
      if (!(error instanceof ConfigError)) throw error;
      return new Response(`${error.message}\n`, {
        status: 500,
        headers: { "Content-Type": "text/plain; charset=utf-8" },
      });
    }
  },
} satisfies ExportedHandler<Env>;

async function route(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const resource = resourceFor(request, env);
  let provider: OAuthProvider<Env>;
  try {
    provider = providerFor(resource);
  } catch (error) {
    // OAuth accepts plain http only on a loopback host: reached as http://<LAN address>,
    // nothing here can sign anyone in. Say so instead of failing with a bare 500.
    if (!(error instanceof TypeError)) throw error;
    if (new URL(request.url).pathname === "/health") return healthResponse(env);
    return new Response(
      `${resource} cannot be an OAuth resource: OAuth needs https, or http on a loopback address ` +
        `(127.0.0.1, localhost). ` +
        "Connect through https (the deployed Worker or a tunnel), use http://127.0.0.1, or set MCP_RESOURCE.\n",
      { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } },
    );
  }
  if (request.method === "POST" && new URL(request.url).pathname === "/register") {
    const screened = await screenRegistration(request, env);
    if (screened instanceof Response) return screened;
    request = screened;
  }
  const verdictApplies = isTokenVerdictRequest(request);
  if (verdictApplies) {
    // A token the library let through moments ago at this resource and URL (auth/token-cache.ts).
    const verdict = tokenRecords.verdictFor(resource, request);
    if (verdict) return serveToolkitMcp(request, env, Object.assign(ctx, verdict));
  }
  const perRequest = requestEnv(env);
  // Token records are read through the isolate's cache (auth/token-cache.ts says why).
  let recordKey: string | undefined;
  perRequest.OAUTH_KV = tokenRecords.store(env.OAUTH_KV, resource, (key) => (recordKey = key));
  const response = await provider.fetch(request, perRequest, ctx);
  // The library puts the caller on the context only for a token it let through.
  const { props, auth } = ctx as ExecutionContext & Partial<TokenVerdict>;
  if (verdictApplies && recordKey !== undefined && auth !== undefined) {
    tokenRecords.rememberVerdict(resource, request, recordKey, { props, auth });
  }
  return response;
}

/** /mcp requests from clients that are not browser pages: those the library answers with no CORS headers. */
function isTokenVerdictRequest(request: Request): boolean {
  return request.method !== "OPTIONS" && !request.headers.has("Origin") && new URL(request.url).pathname === "/mcp";
}
