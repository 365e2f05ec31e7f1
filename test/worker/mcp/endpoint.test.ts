import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { DEFAULT_MAX_REQUEST_BODY_SIZE } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { createToolkitMcpHandler } from "../../../src/mcp/server";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { mcpHttpRequest, rpcAnswer } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";

/** One /mcp request as a 2025-era client (MCP SDK 1.x) sends it, with the given body. */
async function post(body: BodyInit, headers: Record<string, string> = {}) {
  const toolkit = new ScriptedToolkit().on("list_configs", { result: { configs: ["a"] } });
  const context = { config: readConfig(env), upstream: new BridgeUpstream(new ToolkitClient(toolkit, 2_000)), env };
  return createToolkitMcpHandler(context)(mcpHttpRequest(body, headers), env, createExecutionContext());
}

const rpc = (method: string, params: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: "2.0", id: 7, method, params });

describe("the /mcp endpoint for 2025-era clients", () => {
  it("answers a call with one JSON body, not an event stream", async () => {
    const response = await post(rpc("tools/call", { name: "list_configs", arguments: {} }));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("application/json");
    const answer = rpcAnswer(await response.text()) as { result?: { structuredContent?: unknown } };
    expect(answer.result?.structuredContent).toEqual({ configs: ["a"] });
  });

  it("streams the answer of a call that asks for progress, which only a stream can carry", async () => {
    const response = await post(rpc("ping", { _meta: { progressToken: "p1" } }));
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/event-stream");
    expect(rpcAnswer(await response.text())).toMatchObject({ result: {} });
  });

  it("refuses a body that is not JSON with a JSON-RPC parse error", async () => {
    const response = await post("{ not json");
    expect(response.status).toBe(400);
    expect(rpcAnswer(await response.text()).error?.code).toBe(-32700);
  });

  it("refuses a body over the SDK's limit before reading it", async () => {
    const response = await post(rpc("ping"), { "Content-Length": String(DEFAULT_MAX_REQUEST_BODY_SIZE + 1) });
    expect(response.status).toBe(413);
  });

  it("refuses a streamed body that runs past the limit, saying where large data goes", async () => {
    let sent = 0;
    const chunk = new Uint8Array(1024 * 1024).fill(0x20);
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ <= DEFAULT_MAX_REQUEST_BODY_SIZE / chunk.byteLength) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const response = await post(body);
    expect(response.status).toBe(413);
    expect(rpcAnswer(await response.text()).error?.message).toContain("create_dataset_upload");
  });

  it("refuses a browser page from an origin that is not allowed, before reading the body", async () => {
    const response = await post("{ not json", { Origin: "https://evil.example.com" });
    expect(response.status).toBe(403);
  });

  it("refuses a Host that is not loopback on a loopback endpoint (DNS rebinding)", async () => {
    const response = await post(rpc("ping"), { Host: "evil.example.com" });
    expect(response.status).toBe(403);
  });
});
