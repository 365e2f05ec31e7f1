import { McpServer } from "@modelcontextprotocol/server";
import { createMcpHandler } from "agents/mcp/server";
import { mcpOriginOptions } from "../auth/origins";
import { readConfig } from "../config";
import { toolkitClient } from "../toolkit/bridge/client";
import { WORKER_NAME, WORKER_VERSION } from "../common";
import type { ToolContext, ToolGroup } from "./context";
import { strictInput } from "./fields";
import { configTools } from "./tools/configs";
import { connectionTools } from "./tools/connection";
import { datasetTools } from "./tools/datasets";
import { modelTools } from "./tools/models";
import { systemTools } from "./tools/system";
import { trainingTools } from "./tools/training";
import { uploadTools } from "./tools/uploads";
import { trainingProgressTools } from "./tools/training-progress";

/** Every tool group, in the order tools/list shows them. */
const toolGroups: ToolGroup[] = [configTools, datasetTools, uploadTools, trainingTools, trainingProgressTools, modelTools, systemTools, connectionTools];

export function toolContext(env: Env, origin?: string): ToolContext {
  const config = readConfig(env);
  const toolkit = toolkitClient(config, env);
  return { config, toolkit, env, ...(origin ? { origin } : {}) };
}

/** One McpServer per request: the handler is stateless, so nothing leaks between callers. */
export function buildServer(context: ToolContext): McpServer {
  const server = new McpServer(
    { name: WORKER_NAME, version: WORKER_VERSION },
    {
      instructions:
        "Drive LoRA training on the owner's AI Toolkit GPU box: create a config, upload a dataset, start training, follow it, then fetch the model.",
    },
  );
  strictToolInputs(server);
  for (const register of toolGroups) register(server, context);
  return server;
}

/**
 * Every tool registers through here: its input schema is made strict (fields.ts,
 * strictInput), so an argument no tool declares is refused by name instead of dropped.
 */
export function strictToolInputs(server: McpServer): McpServer {
  const register = server.registerTool.bind(server) as (name: string, config: { inputSchema?: unknown }, cb: unknown) => unknown;
  server.registerTool = ((name: string, config: { inputSchema?: unknown }, cb: unknown) =>
    register(name, { ...config, inputSchema: strictInput(name, config.inputSchema) }, cb)) as typeof server.registerTool;
  return server;
}

/** The Streamable HTTP handler for one request, stateless: a fresh McpServer each time. */
export function createToolkitMcpHandler(context: ToolContext, request?: Request) {
  // The SDK's default 4 MiB request limit stays: the handler classifies 2025-era clients by
  // reading the body under that same bound, so a larger limit would break those clients.
  // Large data goes through upload sessions instead of one MCP request.
  // Browser pages: loopback, this Worker's own origin and ALLOWED_ORIGINS (auth/origins.ts).
  return createMcpHandler(() => buildServer(context), { route: "/mcp", ...mcpOriginOptions(context.config, request) });
}

/** The protected /mcp endpoint: OAuthProvider calls this only with a valid token. */
export const mcpApiHandler: ExportedHandler<Env> & { fetch: NonNullable<ExportedHandler<Env>["fetch"]> } = {
  fetch(request, env, ctx) {
    return createToolkitMcpHandler(toolContext(env, new URL(request.url).origin), request as Request)(request as Request, env, ctx);
  },
};
