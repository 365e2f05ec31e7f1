import { describe, expect, it } from "vitest";
import { mcpRequest } from "../helpers/mcp";
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
