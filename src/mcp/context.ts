import type { McpServer } from "@modelcontextprotocol/server";
import type { Config } from "../config";
import type { ToolkitClient } from "../toolkit/bridge/client";

/** What every tool group gets: the typed settings, the toolkit client and the bindings. */
export interface ToolContext {
  config: Config;
  toolkit: ToolkitClient;
  env: Env;
  /**
   * The origin the client reached the Worker on (e.g. https://mcp.example.com): download
   * links point there. Unset outside a real request; links are then relative (/downloads/...).
   */
  origin?: string;
}

/** A tool group registers its tools on the per-request server. */
export type ToolGroup = (server: McpServer, context: ToolContext) => void;

/** Shared annotation presets: every tool here talks to one known toolkit, never the open web. */
export const readOnly = { readOnlyHint: true, openWorldHint: false } as const;
export const idempotentWrite = { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false } as const;
export const additiveWrite = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false } as const;
