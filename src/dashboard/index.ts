import type { McpServer } from "@modelcontextprotocol/server";
import { dashboardHtml } from "./page";

/**
 * The live training dashboard, an MCP App (the `io.modelcontextprotocol/ui` extension,
 * spec 2026-01-26): one self-contained HTML page that a host such as Claude renders beside a
 * tool's result. The page learns the job from that result and keeps itself current by calling
 * this server's tools through the host, never by fetching the Worker itself.
 *
 * The constants below match `@modelcontextprotocol/ext-apps/server` (its tests check that); they
 * are spelled out here because that package is a development dependency only.
 */

export { dashboardHtml } from "./page";

/** Where hosts read the page (resources/read). */
export const DASHBOARD_URI = "ui://ai-toolkit/training-dashboard";

/** The MCP Apps profile of HTML: hosts render only resources of this type as Apps. */
export const MCP_APP_MIME_TYPE = "text/html;profile=mcp-app";

/** The spec's older, flat key for a tool's UI resource; hosts of the first drafts read only this one. */
export const LEGACY_RESOURCE_URI_KEY = "ui/resourceUri";

/**
 * The tools the page calls through the host; each must stay visible to the app ("app" in its visibility, the default).
 */
export const DASHBOARD_TOOL_CALLS = [
  "get_training_status",
  "get_training_metrics",
  "get_system_stats",
  "get_training_samples",
  "stop_training",
] as const;

/**
 * The `_meta` a tool carries to open the dashboard on its result. The tool's structuredContent
 * (or its job_id argument) must name the job: `{ job_id, ... }`, as get_training_status and
 * start_training answer. Visible to the model (it calls the tool) and to the app (it may call
 * it again to refresh).
 */
export const dashboardToolMeta = {
  ui: { resourceUri: DASHBOARD_URI, visibility: ["model", "app"] },
  [LEGACY_RESOURCE_URI_KEY]: DASHBOARD_URI,
} as const;

/**
 * The page needs no network, fonts or images beyond data: URIs, so its resource declares no CSP
 * domains: the host's default policy (nothing external) is exactly right. It asks for a border
 * so it reads as a card in the conversation.
 */
const resourceUiMeta = { prefersBorder: true, csp: { connectDomains: [], resourceDomains: [] } };

/** Registers the dashboard page on a server: resources/list shows it, resources/read returns the HTML. */
export function registerDashboard(server: McpServer): void {
  server.registerResource(
    "training-dashboard",
    DASHBOARD_URI,
    {
      title: "Training dashboard",
      description:
        "Live view of one training job: status, progress, loss chart, samples and GPU; refreshes itself " +
        "while the job runs.",
      mimeType: MCP_APP_MIME_TYPE,
      _meta: { ui: resourceUiMeta },
    },
    (uri) => ({
      contents: [{ uri: uri.href, mimeType: MCP_APP_MIME_TYPE, text: dashboardHtml(), _meta: { ui: resourceUiMeta } }],
    }),
  );
}
