import type { CallToolResult } from "@modelcontextprotocol/server";
import { capitalize } from "../common";
import { ToolkitError } from "../toolkit/errors";

/**
 * Result shaping for every tool: `structuredContent` for programs, a short readable text for
 * people and models. Failures become `isError: true` results here and only here, so a
 * toolkit failure is never a crash and never a silent success.
 */
export function ok(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: "text", text }], structuredContent: structured };
}

export function failure(message: string, details: Record<string, unknown> = {}): CallToolResult {
  return {
    isError: true,
    content: [{ type: "text", text: message }],
    structuredContent: { error: message, ...details },
  };
}

/** Runs a tool body and turns any ToolkitError (or a bug) into an isError result. */
export async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ToolkitError) return failure(capitalize(error.message), { kind: error.kind });
    if (error instanceof UserError) return failure(error.message, { kind: "invalid" });
    console.error("tool failed unexpectedly", error);
    const message = error instanceof Error ? error.message : String(error);
    return failure(`The Worker failed unexpectedly: ${message}. This is a bug: check with list_training_jobs or get_dataset_upload what was done before it failed.`, {
      kind: "internal",
    });
  }
}

/** A problem with the caller's request that validation could only find at run time. */
export class UserError extends Error {
  override name = "UserError";
}

