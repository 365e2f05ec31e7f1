import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { createToolkitMcpHandler } from "../../../src/mcp/server";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { mcpRequest, rpcAnswer } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";

/**
 * What a client sees of the Worker before it calls anything, pinned byte for byte: the
 * snapshot was taken from the server built per request, before tool definitions were kept per
 * isolate, so a cache that changed a name, a description, a schema or the order shows here.
 */
describe("the published surface", () => {
  it("tools/list is unchanged", async () => {
    const answer = await mcpRequest(new ScriptedToolkit(), "tools/list", {});
    await expect(JSON.stringify(answer.result, null, 2)).toMatchFileSnapshot("./snapshots/tools-list.json");
  });

  it("tools/list follows settings that change descriptions and limits", async () => {
    const answer = await mcpRequest(new ScriptedToolkit(), "tools/list", {}, { UPLOAD_CAPTION_MAX_CHARS: "77" });
    await expect(JSON.stringify(answer.result, null, 2)).toMatchFileSnapshot("./snapshots/tools-list-captions-77.json");
  });

  it("initialize and resources/list are unchanged", async () => {
    const initialize = await mcpRequest(new ScriptedToolkit(), "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "snapshot", version: "1" },
    });
    const resources = await mcpRequest(new ScriptedToolkit(), "resources/list", {});
    await expect(
      JSON.stringify({ initialize: initialize.result, resources: resources.result }, null, 2),
    ).toMatchFileSnapshot("./snapshots/initialize-resources.json");
  });
});

describe("the 2026-07-28 era", () => {
  async function modern(method: string, params: Record<string, unknown>) {
    const context = {
      config: readConfig(env),
      upstream: new BridgeUpstream(
        new ToolkitClient(new ScriptedToolkit().on("list_configs", { result: { configs: ["a"] } }), 2_000),
      ),
      env,
    };
    const request = new Request("http://localhost/mcp", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
        "Mcp-Method": method,
        ...(method === "tools/call" ? { "Mcp-Name": String(params.name) } : {}),
        Host: "localhost",
      },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method,
        params: {
          ...params,
          _meta: {
            [PROTOCOL_VERSION_META_KEY]: "2026-07-28",
            [CLIENT_CAPABILITIES_META_KEY]: {},
            [CLIENT_INFO_META_KEY]: { name: "modern", version: "1" },
          },
        },
      }),
    });
    const response = await createToolkitMcpHandler(context)(request, env, createExecutionContext());
    return rpcAnswer(await response.text()) as { result?: Record<string, unknown>; error?: unknown };
  }

  it("lists the same tools, and calls them, from the shared definitions", async () => {
    const legacy = await mcpRequest(new ScriptedToolkit(), "tools/list", {});
    const listed = await modern("tools/list", {});
    expect(listed.error).toBeUndefined();
    // Only the 2026-07-28 codec stamps resultType: this went through the modern path.
    expect(listed.result?.resultType).toBe("complete");
    expect(listed.result?.tools).toEqual((legacy.result as { tools: unknown }).tools);
    const called = await modern("tools/call", { name: "list_configs", arguments: {} });
    expect(called.result).toMatchObject({ structuredContent: { configs: ["a"] } });
  });
});
