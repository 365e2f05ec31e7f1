import packageJson from "../package.json";

/** The Worker's version, as published in /health and the MCP server info. */
export const WORKER_VERSION: string = packageJson.version;
export const WORKER_NAME = "AI Toolkit edge MCP";
