import { OAuthProvider } from "@cloudflare/workers-oauth-provider";
import { Hono } from "hono";
import { authorizeRoutes, TOOLKIT_SCOPE } from "./auth/authorize";
import { readConfig } from "./config";
import { healthResponse } from "./health";
import { mcpApiHandler } from "./mcp/server";
import { uploadRoutes } from "./staging/uploads/routes";
import { downloadRoutes } from "./staging/models";

export { LoginAttempts } from "./auth/attempts";
export { WorkerSecrets } from "./staging/models/secrets";
export { UploadSession } from "./staging/uploads/session";
export { TrainingJob } from "./jobs/training-job";
export { JobIndex } from "./jobs/job-index";

/** Routes that need no token: the owner's sign-in page, the health check and signed downloads. */
const publicRoutes = new Hono<{ Bindings: Env }>();
publicRoutes.route("/", authorizeRoutes);
// Staged models behind signed links: the link is the credential, so no OAuth token is needed.
publicRoutes.route("/", downloadRoutes);
// Dataset uploads: the 128-bit token in the URL is the credential (see staging/uploads/routes.ts).
publicRoutes.route("/uploads", uploadRoutes);
publicRoutes.get("/health", (c) => healthResponse(c.env));
publicRoutes.get("/", (c) =>
  c.text(`AI Toolkit edge MCP. Connect your MCP client to ${new URL(c.req.url).origin}/mcp (OAuth sign-in with the owner password).\n`),
);

/**
 * Tokens are bound to the resource the client actually connected to (origin + /mcp), so
 * one build works on workers.dev, a custom domain and `wrangler dev` on any port, unless
 * MCP_RESOURCE pins it. The provider fixes its resource at construction, so we keep one
 * provider per resource URL.
 */
const providers = new Map<string, OAuthProvider<Env>>();

function providerFor(resource: string): OAuthProvider<Env> {
  let provider = providers.get(resource);
  if (!provider) {
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
  }
  return provider;
}

export function resourceFor(request: Request, env: Env): string {
  return readConfig(env).MCP_RESOURCE ?? `${new URL(request.url).origin}/mcp`;
}

export default {
  async fetch(request, env, ctx) {
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
        `${resource} cannot be an OAuth resource: OAuth needs https, or http on a loopback address (127.0.0.1, localhost). ` +
          "Connect through https (the deployed Worker or a tunnel), use http://127.0.0.1, or set MCP_RESOURCE.\n",
        { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" } },
      );
    }
    return provider.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
