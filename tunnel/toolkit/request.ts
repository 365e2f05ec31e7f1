// Reading and validating /mcp/execute requests the way the original's FastAPI app does.

import type { IncomingMessage } from "node:http";

import type { ToolArgs } from "./tools/common.ts";

export class BodyTooLarge extends Error {}

/** Reads the whole body: chunks are kept in a list and joined once, never re-copied per chunk. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw new BodyTooLarge();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    total += buf.length;
    if (total > limit) throw new BodyTooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks, total);
}

/** FastAPI's 422 body for a request its pydantic model rejects. */
function validationError(
  type: string,
  loc: Array<string | number>,
  msg: string,
  extra: Record<string, unknown> = {},
): unknown {
  return { detail: [{ type, loc, msg, ...extra }] };
}

export type Parsed = { ok: true; tool: string; args: ToolArgs } | { ok: false; detail: unknown };

/** The original's request model: `tool` (string), `arguments` / `parameters` (objects, optional). */
export function parseExecuteBody(body: Buffer): Parsed {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = Number(/position (\d+)/.exec(message)?.[1] ?? 0);
    return {
      ok: false,
      detail: validationError("json_invalid", ["body", position], "JSON decode error", {
        input: {},
        ctx: { error: message },
      }),
    };
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return {
      ok: false,
      detail: validationError(
        "model_attributes_type",
        ["body"],
        "Input should be a valid dictionary or object to extract fields from",
      ),
    };
  }
  const request = value as Record<string, unknown>;
  if (typeof request.tool !== "string") {
    return request.tool === undefined
      ? { ok: false, detail: validationError("missing", ["body", "tool"], "Field required") }
      : { ok: false, detail: validationError("string_type", ["body", "tool"], "Input should be a valid string") };
  }
  const objects: Record<string, ToolArgs> = {};
  for (const key of ["arguments", "parameters"]) {
    const item = request[key];
    if (item === undefined || item === null) continue;
    if (typeof item !== "object" || Array.isArray(item)) {
      return { ok: false, detail: validationError("dict_type", ["body", key], "Input should be a valid dictionary") };
    }
    objects[key] = item as ToolArgs;
  }
  // `arguments or parameters or {}` in the original: an empty `arguments` defers to `parameters`.
  const nonEmpty = (o: ToolArgs | undefined): o is ToolArgs => o !== undefined && Object.keys(o).length > 0;
  const args = nonEmpty(objects.arguments) ? objects.arguments : nonEmpty(objects.parameters) ? objects.parameters : {};
  return { ok: true, tool: request.tool, args };
}
