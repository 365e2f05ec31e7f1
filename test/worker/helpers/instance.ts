import { createExecutionContext } from "cloudflare:test";
import worker from "../../../src/index";
import type { Fetcher } from "../../shared/oauth-flow";

/** One Worker instance over `instanceEnv`: every request sees that same env object, as requests in one isolate do. */
export function workerOver(instanceEnv: Env): Fetcher {
  return (input, init) =>
    worker.fetch(new Request(input, init) as Parameters<typeof worker.fetch>[0], instanceEnv, createExecutionContext());
}

/** An authenticated JSON-RPC request to `<origin>/mcp`, with extra headers (an Origin, say), its params and id. */
export function mcpPost(
  fetch: Fetcher,
  origin: string,
  token: string,
  method: string,
  headers: Record<string, string> = {},
  call: { params?: unknown; id?: number } = {},
): Promise<Response> {
  return fetch(`${origin}/mcp`, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "MCP-Protocol-Version": "2025-06-18",
      Host: new URL(origin).host,
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: call.id ?? 1, method, params: call.params ?? {} }),
  });
}
