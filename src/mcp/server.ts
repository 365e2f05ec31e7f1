import { McpServer } from "@modelcontextprotocol/server";
import { createMcpHandler } from "agents/mcp/server";
import { readConfig } from "../config";
import { ToolkitClient } from "../toolkit/client";
import { selectTransport } from "../toolkit/transport";
import { WORKER_NAME, WORKER_VERSION } from "../version";
import type { ToolContext, ToolGroup } from "./context";
import { configTools } from "./tools/configs";
import { datasetTools } from "./tools/datasets";
import { modelTools } from "./tools/models";
import { systemTools } from "./tools/system";
import { trainingTools } from "./tools/training";

/** Every tool group, in the order tools/list shows them. */
const toolGroups: ToolGroup[] = [configTools, datasetTools, trainingTools, modelTools, systemTools];

/** Inline uploads (upload_dataset) arrive inside one MCP request; bigger data uses upload sessions. */
const MAX_MCP_REQUEST_BYTES = 24 * 1024 * 1024;

export function toolContext(env: Env): ToolContext {
  const config = readConfig(env);
  const toolkit = new ToolkitClient(selectTransport(config, env.TOOLKIT), config.TOOLKIT_TIMEOUT_MS);
  return { config, toolkit, env };
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
  for (const register of toolGroups) register(server, context);
  return server;
}

/** The protected /mcp endpoint: OAuthProvider calls this only with a valid token. */
export const mcpApiHandler: ExportedHandler<Env> & { fetch: NonNullable<ExportedHandler<Env>["fetch"]> } = {
  fetch(request, env, ctx) {
    const context = toolContext(env);
    const handler = createMcpHandler(() => buildServer(context), {
      route: "/mcp",
      maxRequestBodySize: MAX_MCP_REQUEST_BYTES,
    });
    return handler(request as Request, env, ctx);
  },
};
