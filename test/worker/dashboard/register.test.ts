import { McpServer } from "@modelcontextprotocol/server";
import { RESOURCE_MIME_TYPE, RESOURCE_URI_META_KEY } from "@modelcontextprotocol/ext-apps/server";
import { describe, expect, it } from "vitest";
import {
  DASHBOARD_URI,
  MCP_APP_MIME_TYPE,
  LEGACY_RESOURCE_URI_KEY,
  dashboardHtml,
  dashboardToolMeta,
  registerDashboard,
} from "../../../src/dashboard";
import { mcpRequestTo } from "../helpers/mcp";

function server(): McpServer {
  const built = new McpServer({ name: "dashboard-test", version: "0.0.0" });
  registerDashboard(built);
  return built;
}

interface ResourceEntry {
  uri: string;
  mimeType?: string;
  _meta?: { ui?: Record<string, unknown> };
}

describe("the training dashboard resource", () => {
  it("agrees with the MCP Apps SDK on the mime type and the legacy key", () => {
    expect(MCP_APP_MIME_TYPE).toBe(RESOURCE_MIME_TYPE);
    expect(LEGACY_RESOURCE_URI_KEY).toBe(RESOURCE_URI_META_KEY);
    expect(dashboardToolMeta.ui.resourceUri).toBe(DASHBOARD_URI);
    expect(dashboardToolMeta[LEGACY_RESOURCE_URI_KEY]).toBe(DASHBOARD_URI);
    expect(DASHBOARD_URI.startsWith("ui://")).toBe(true);
  });

  it("is listed with the MCP App mime type", async () => {
    const answer = await mcpRequestTo(server, "resources/list", {});
    const { resources } = answer.result as { resources: ResourceEntry[] };
    const entry = resources.find((resource) => resource.uri === DASHBOARD_URI);
    expect(entry?.mimeType).toBe("text/html;profile=mcp-app");
    expect(entry?._meta?.ui).toMatchObject({ csp: { connectDomains: [], resourceDomains: [] } });
  });

  it("reads as the self-contained HTML page", async () => {
    const answer = await mcpRequestTo(server, "resources/read", { uri: DASHBOARD_URI });
    const { contents } = answer.result as { contents: (ResourceEntry & { text: string })[] };
    expect(contents).toHaveLength(1);
    const [page] = contents;
    expect(page?.uri).toBe(DASHBOARD_URI);
    expect(page?.mimeType).toBe("text/html;profile=mcp-app");
    expect(page?._meta?.ui).toMatchObject({ prefersBorder: true });
    expect(page?.text).toBe(dashboardHtml());
    expect(page?.text).toMatch(/^<!doctype html>/);
    expect(page?.text).toContain('"ui/initialize"');
    // Nothing external: the host's default App policy would block it anyway.
    expect(page?.text).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});
