// Running a tool by name, with the original's rules for what counts as failure.

import { configTools } from "./configs.ts";
import { InBandError, type ToolArgs, type ToolContext, type ToolHandler, type ToolResult } from "./common.ts";
import { datasetTools } from "./datasets.ts";
import { modelTools } from "./models.ts";
import { TOOL_DESCRIPTIONS } from "./schemas.ts";
import { systemTools } from "./system.ts";
import { trainingTools } from "./training.ts";

const HANDLERS: Record<string, ToolHandler> = {
  ...configTools,
  ...datasetTools,
  ...trainingTools,
  ...modelTools,
  ...systemTools,
};

// Every published tool has a handler and the other way round; a mismatch is a bug worth
// failing loudly for at start-up rather than on some later call.
for (const { name } of TOOL_DESCRIPTIONS) if (!(name in HANDLERS)) throw new Error(`tool ${name} has no handler`);
if (Object.keys(HANDLERS).length !== TOOL_DESCRIPTIONS.length) throw new Error("a handler has no published tool");

export { TOOL_DESCRIPTIONS };

/** The envelope of every /mcp/execute answer. */
export type Envelope =
  { success: true; result: ToolResult; error: null } | { success: false; result: null; error: string };

/**
 * Runs a tool. As in the original: an unknown tool and any unexpected exception give
 * `success: false`; failures a tool anticipates are results (`{"error": ...}`) with `success: true`.
 */
export async function executeTool(tool: string, args: ToolArgs, ctx: ToolContext): Promise<Envelope> {
  const handler = Object.hasOwn(HANDLERS, tool) ? HANDLERS[tool] : undefined;
  if (!handler) {
    // The original raises FastAPI's HTTPException(404) and reports its str() in the envelope.
    return { success: false, result: null, error: `404: Tool '${tool}' not found` };
  }
  try {
    return { success: true, result: await handler(args, ctx), error: null };
  } catch (error) {
    if (error instanceof InBandError) return { success: true, result: { error: error.message }, error: null };
    return { success: false, result: null, error: error instanceof Error ? error.message : String(error) };
  }
}
