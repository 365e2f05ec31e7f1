import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import type { McpServer } from "@modelcontextprotocol/server";
import { createMcpHandler } from "agents/mcp/server";
import { readConfig } from "../../../src/config";
import type { ToolContext } from "../../../src/mcp/context";
import { createToolkitMcpHandler } from "../../../src/mcp/server";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import type { ScriptedToolkit } from "./scripted-toolkit";

export interface ToolCallResult {
  isError?: boolean;
  content: Array<{ type: string; text: string }>;
  structuredContent?: Record<string, unknown>;
}

let nextId = 1;

/** Sends one JSON-RPC request through the real MCP handler, with the toolkit scripted. */
export async function mcpRequest(toolkit: ScriptedToolkit, method: string, params: unknown, overrides: Record<string, unknown> = {}) {
  const config = readConfig({ ...env, ...overrides });
  const context: ToolContext = { config, toolkit: new ToolkitClient(toolkit, 2_000), env };
  return send(createToolkitMcpHandler(context), method, params);
}

/** The same, through a server the test builds itself (for tools that are not the Worker's). */
export async function mcpRequestTo(server: () => McpServer, method: string, params: unknown) {
  return send(createMcpHandler(server, { route: "/mcp" }), method, params);
}

async function send(handler: ReturnType<typeof createToolkitMcpHandler>, method: string, params: unknown) {
  const request = new Request("http://localhost/mcp", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": "2025-06-18",
      Host: "localhost",
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
  });
  const response = await handler(request, env, createExecutionContext());
  const text = await response.text();
  const json = text.startsWith("{") ? text : text.split("\n").find((line) => line.startsWith("data: "))?.slice(6);
  if (!json) throw new Error(`no JSON-RPC answer in: ${text}`);
  return JSON.parse(json) as { result?: unknown; error?: { code: number; message: string } };
}

export async function callTool(toolkit: ScriptedToolkit, name: string, args: Record<string, unknown> = {}, overrides = {}) {
  const answer = await mcpRequest(toolkit, "tools/call", { name, arguments: args }, overrides);
  if (answer.error) throw new Error(`JSON-RPC error ${answer.error.code}: ${answer.error.message}`);
  return answer.result as ToolCallResult;
}
