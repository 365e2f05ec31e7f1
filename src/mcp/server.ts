import { McpServer } from "@modelcontextprotocol/server";
import { registerDashboard } from "../dashboard";
import { callerOf, serveMcp } from "./endpoint";
import { readConfig, type Config } from "../config";
import { upstreamFor } from "../toolkit/select";
import { WORKER_NAME, WORKER_VERSION } from "../common";
import type { DefinedTool, ToolContext, ToolGroup } from "./tool";
import { configTools } from "./tools/configs";
import { connectionTools } from "./tools/connection";
import { datasetTools } from "./tools/datasets";
import { modelTools } from "./tools/models";
import { sampleTools } from "./tools/samples";
import { systemTools } from "./tools/system";
import { trainingJobTools } from "./tools/training-jobs";
import { trainingProgressTools } from "./tools/training-progress";
import { uploadTools } from "./tools/uploads";

/** Every tool group, in the order tools/list shows them. */
const toolGroups: ToolGroup[] = [
  configTools,
  datasetTools,
  uploadTools,
  trainingJobTools,
  trainingProgressTools,
  sampleTools,
  modelTools,
  systemTools,
  connectionTools,
];

/**
 * Tool definitions per settings. Defining a tool (its zod schemas, made strict, and their JSON
 * Schemas) costs far more than serving a call, and depends on nothing but the settings: readConfig
 * gives one frozen Config per env, so each isolate defines its tools once, and a new env (changed
 * settings) gets its own definitions. Nothing of a request is kept here: the request's upstream,
 * bindings and origin reach each run through its CallContext.
 */
const definitions = new WeakMap<Config, DefinedTool[]>();

/** Every tool the Worker serves under these settings, declared by its group. */
export function allTools(config: Config): DefinedTool[] {
  let tools = definitions.get(config);
  if (!tools) {
    tools = toolGroups.flatMap((group) => group(config));
    definitions.set(config, tools);
  }
  return tools;
}

export function toolContext(env: Env, origin?: string): ToolContext {
  const config = readConfig(env);
  const upstream = upstreamFor(config, env);
  return { config, upstream, env, ...(origin ? { origin } : {}) };
}

/**
 * One McpServer per request, as the SDK requires (a server serves one transport at a time, and
 * keeps what the client said of itself): building one is cheap, since the tools it registers are
 * the isolate's shared definitions; only their handlers, which carry this request's context, are new.
 */
export function buildServer(context: ToolContext): McpServer {
  const server = new McpServer(
    { name: WORKER_NAME, version: WORKER_VERSION },
    {
      // The SDK would announce tools.listChanged; a stateless server, gone after each request,
      // can never send that notification, so it must not promise it.
      capabilities: { tools: { listChanged: false } },
      instructions:
        "Drive LoRA training on the owner's AI Toolkit GPU box: create a config, upload a dataset, start " +
        "training, follow it, then fetch the model.",
    },
  );
  for (const tool of allTools(context.config)) tool.register(server, context);
  registerDashboard(server);
  return server;
}

/**
 * The Streamable HTTP handler for one request, stateless: a fresh McpServer each time, and the
 * caller as the OAuth provider left it on the execution context (mcp/endpoint.ts).
 */
export function createToolkitMcpHandler(context: ToolContext) {
  // The SDK's default 4 MiB request limit stays: large data goes through upload sessions
  // instead of one MCP request. Browser pages: loopback, this Worker's own origin and
  // ALLOWED_ORIGINS (auth/origins.ts).
  return (request: Request, _env: Env, ctx: ExecutionContext) =>
    serveMcp(request, context.config, () => buildServer(context), callerOf(ctx));
}

/** One /mcp request from a caller the OAuth check let through (its props and auth on `ctx`). */
export function serveToolkitMcp(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  return createToolkitMcpHandler(toolContext(env, new URL(request.url).origin))(request, env, ctx);
}

/** The protected /mcp endpoint: OAuthProvider calls this only with a valid token. */
export const mcpApiHandler: ExportedHandler<Env> & { fetch: NonNullable<ExportedHandler<Env>["fetch"]> } = {
  fetch: (request, env, ctx) => serveToolkitMcp(request as Request, env, ctx),
};
