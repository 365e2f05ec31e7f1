import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import type { McpServer } from "@modelcontextprotocol/server";
import { createMcpHandler } from "agents/mcp/server";
import { readConfig } from "../../../src/config";
import { CfWorkerJsonSchemaValidator } from "@modelcontextprotocol/server/validators/cf-worker";
import { createToolkitMcpHandler } from "../../../src/mcp/server";
import type { ToolContext } from "../../../src/mcp/tool";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { ScriptedToolkit } from "./scripted-toolkit";

export interface ToolCallResult {
  isError?: boolean;
  content: Array<{ type: string; text: string; data?: string; mimeType?: string }>;
  structuredContent?: Record<string, unknown>;
}

let nextId = 1;

/** Sends one JSON-RPC request through the real MCP handler, with the toolkit scripted. */
export async function mcpRequest(
  toolkit: ScriptedToolkit,
  method: string,
  params: unknown,
  overrides: Record<string, unknown> = {},
) {
  const config = readConfig({ ...env, ...overrides });
  const context: ToolContext = { config, upstream: new BridgeUpstream(new ToolkitClient(toolkit, 2_000)), env };
  return send(createToolkitMcpHandler(context), method, params);
}

/** The same, through a server the test builds itself (for tools that are not the Worker's). */
export async function mcpRequestTo(server: () => McpServer, method: string, params: unknown) {
  return send(createMcpHandler(server, { route: "/mcp" }), method, params);
}

/**
 * One JSON-RPC request through `handler`. `ctx` is the execution context the handler gets (the OAuth
 * provider puts the token's props and auth there).
 */
export async function send(
  handler: ReturnType<typeof createToolkitMcpHandler>,
  method: string,
  params: unknown,
  ctx: ExecutionContext = createExecutionContext(),
) {
  const request = mcpHttpRequest(JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }));
  const response = await handler(request, env, ctx);
  return rpcAnswer(await response.text());
}

/** A POST to http://localhost/mcp as a 2025-era client (MCP SDK 1.x) sends it, with this body. */
export function mcpHttpRequest(body: BodyInit, headers: Record<string, string> = {}): Request {
  return new Request("http://localhost/mcp", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": "2025-06-18",
      Host: "localhost",
      ...headers,
    },
    body,
  });
}

/** The JSON-RPC answer in a /mcp response body: plain JSON, or the `data:` line of its SSE stream. */
export function rpcAnswer(text: string): { result?: unknown; error?: { code: number; message: string } } {
  const json = text.startsWith("{")
    ? text
    : text
        .split("\n")
        .find((line) => line.startsWith("data: "))
        ?.slice(6);
  if (!json) throw new Error(`no JSON-RPC answer in: ${text}`);
  return JSON.parse(json) as { result?: unknown; error?: { code: number; message: string } };
}

/**
 * Calls a tool and checks its structuredContent against the output schema tools/list
 * publishes, success or failure alike, as MCP SDK 1.x clients do: an answer a strict client
 * would refuse fails the test that produced it.
 */
export async function callTool(
  toolkit: ScriptedToolkit,
  name: string,
  args: Record<string, unknown> = {},
  overrides = {},
) {
  const answer = await mcpRequest(toolkit, "tools/call", { name, arguments: args }, overrides);
  if (answer.error) throw new Error(`JSON-RPC error ${answer.error.code}: ${answer.error.message}`);
  const result = answer.result as ToolCallResult;
  if (result.structuredContent !== undefined) {
    const problem = await outputProblem(name, result.structuredContent);
    if (problem)
      throw new Error(
        `${name} answered structuredContent that its published outputSchema refuses: ` +
          `${problem}\n${JSON.stringify(result.structuredContent)}`,
      );
  }
  return result;
}

/** callTool through a context the test builds (another upstream, an origin), with the same schema check. */
export async function callToolWith(context: ToolContext, name: string, args: Record<string, unknown> = {}) {
  const answer = await send(createToolkitMcpHandler(context), "tools/call", { name, arguments: args });
  if (answer.error) throw new Error(`JSON-RPC error ${answer.error.code}: ${answer.error.message}`);
  const result = answer.result as ToolCallResult;
  const problem = result.structuredContent && (await outputProblem(name, result.structuredContent));
  if (problem) throw new Error(`${name} answered structuredContent its outputSchema refuses: ${problem}`);
  return result;
}

export interface ListedTool {
  name: string;
  title?: string;
  inputSchema: { additionalProperties?: boolean; properties?: Record<string, { description?: string }> };
  outputSchema?: Record<string, unknown> & { type?: string };
  annotations?: Record<string, unknown>;
}

let published: Promise<Map<string, ListedTool>> | undefined;

/** The tools as tools/list publishes them (output schemas do not depend on settings). */
export function publishedTools(): Promise<Map<string, ListedTool>> {
  published ??= mcpRequest(new ScriptedToolkit(), "tools/list", {}).then(
    (answer) => new Map((answer.result as { tools: ListedTool[] }).tools.map((tool) => [tool.name, tool])),
  );
  return published;
}

const validator = new CfWorkerJsonSchemaValidator();

/** Why `structured` does not satisfy the tool's published outputSchema, or undefined. */
export async function outputProblem(tool: string, structured: Record<string, unknown>): Promise<string | undefined> {
  const schema = (await publishedTools()).get(tool)?.outputSchema;
  if (!schema) return undefined;
  const verdict = validator.getValidator<Record<string, unknown>>(schema)(structured);
  return verdict.valid ? undefined : (verdict.errorMessage ?? "invalid");
}
