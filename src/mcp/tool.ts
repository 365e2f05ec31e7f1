import type { CallToolResult, McpServer, ServerContext, ToolAnnotations } from "@modelcontextprotocol/server";
import { z } from "zod";
import { capitalize, errorMessage } from "../common";
import type { Config } from "../config";
import type { Upstream } from "../toolkit/upstream";
import { TOOLKIT_ERROR_KINDS, ToolkitError } from "../toolkit/errors";
import { deepFreeze, publishedOnce } from "./published-schema";
import { strictInput } from "./strict-input";

/**
 * What a tool needs of one request: the typed settings, the upstream and the bindings, and the
 * origin the client came in on. A tool's definition never holds it (definitions outlive requests,
 * see server.ts): its run receives it with each call.
 */
export interface ToolContext {
  config: Config;
  upstream: Upstream;
  env: Env;
  /**
   * The origin the client reached the Worker on (e.g. https://mcp.example.com): download
   * links point there. Unset outside a real request; links are then relative (/downloads/...).
   */
  origin?: string;
}

/** What a tool's run gets with each call: the request's context and the SDK's view of the call. */
export interface CallContext extends ToolContext {
  /** The call as the SDK sees it: progress token, abort signal, the caller's auth info. */
  call: ServerContext;
}

/**
 * A group of tools, defined from the settings alone (descriptions and limits can follow them).
 * Everything a tool needs of a request comes to its run in a CallContext.
 */
export type ToolGroup = (config: Config) => DefinedTool[];

/** Annotation presets: every tool here talks to one known toolkit, never the open web. */
type ToolHints = Omit<ToolAnnotations, "title">;
export const readOnly = { readOnlyHint: true, openWorldHint: false } as const satisfies ToolHints;
export const idempotentWrite = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: true,
  openWorldHint: false,
} as const satisfies ToolHints;
export const additiveWrite = {
  readOnlyHint: false,
  destructiveHint: false,
  idempotentHint: false,
  openWorldHint: false,
} as const satisfies ToolHints;
export const destructiveWrite = {
  readOnlyHint: false,
  destructiveHint: true,
  idempotentHint: false,
  openWorldHint: false,
} as const satisfies ToolHints;

/**
 * Every way a call can fail, as `kind` in the failure's structuredContent: the toolkit's kinds
 * (including "invalid", a request the upstream cannot take), plus the Worker's own.
 */
const FAILURE_KINDS = [...TOOLKIT_ERROR_KINDS, "not_found", "internal"] as const;

/**
 * What a failed call carries in structuredContent. Every tool's published output schema admits
 * it next to the tool's own answer: clients on SDK 1.x check structuredContent against the
 * schema even when isError is set, and would otherwise turn a clear failure into a protocol error.
 */
export const failureOutput = z.object({
  error: z.string(),
  kind: z.enum(FAILURE_KINDS),
  job_id: z.string().optional(),
});
type FailureDetails = Omit<z.infer<typeof failureOutput>, "error">;

/** A problem with the caller's request that validation could only find at run time. */
export class UserError extends Error {
  override name = "UserError";
  constructor(
    message: string,
    readonly details: FailureDetails = { kind: "invalid" },
  ) {
    super(message);
  }
}

/** A picture shown after a tool's text: its bytes and their image type. */
export interface Picture {
  bytes: Uint8Array;
  /** image/png, image/jpeg, image/webp. */
  mimeType: string;
}

/**
 * A tool's answer: `structured` for programs, a short readable `text` for people and models,
 * and pictures (charts, sample previews) shown after the text by clients that display images.
 */
export interface Answer<Structured> {
  structured: Structured;
  text: string;
  images: Picture[];
}

/**
 * Pictures that could not be drawn (undefined: nothing to show yet) are left out; bare bytes
 * are PNGs (the charts).
 */
export function answer<Structured>(
  structured: Structured,
  text: string,
  images: readonly (Uint8Array | Picture | undefined)[] = [],
): Answer<Structured> {
  return {
    structured,
    text,
    images: images.flatMap((image) =>
      image === undefined ? [] : image instanceof Uint8Array ? [{ bytes: image, mimeType: "image/png" }] : [image],
    ),
  };
}

/** structuredContent is always a JSON object, in and out of its schema. */
type StructuredSchema = z.ZodType<Record<string, unknown>, Record<string, unknown>>;

/** Everything about one tool, declared once: tools/list publishes it, tools/call enforces it. */
export interface ToolSpec<Input extends z.ZodObject, Output extends StructuredSchema> {
  name: string;
  /** Shown to people; also published as annotations.title. */
  title: string;
  description: string;
  /** Made strict (strict-input.ts): an argument the schema does not declare is refused by name. */
  input: Input;
  /** What a successful call's structuredContent satisfies; the SDK checks it on every answer. */
  output: Output;
  annotations: ToolHints;
  /** Published as the tool's `_meta`: e.g. the MCP App a host shows beside its result. */
  meta?: Record<string, unknown>;
  run(args: z.output<Input>, context: CallContext): Promise<Answer<z.input<Output>>>;
}

export interface DefinedTool {
  name: string;
  /** The schema of a successful answer (without the failure shape). */
  output: StructuredSchema;
  /** Registers the tool on one request's server; its runs get that request's context. */
  register(server: McpServer, context: ToolContext): void;
}

/**
 * Declares a tool: strict input, output schema (with the failure shape beside it), title and
 * annotations, and its handler behind the one error guard. All of it is built here, once per
 * definition; registering it on a request's server only adds the handler that carries the request.
 */
export function defineTool<Input extends z.ZodObject, Output extends StructuredSchema>(
  spec: ToolSpec<Input, Output>,
): DefinedTool {
  // Frozen: one definition serves every request of the isolate.
  const published = deepFreeze({
    title: spec.title,
    description: spec.description,
    inputSchema: publishedOnce(strictInput(spec.name, spec.input)),
    outputSchema: publishedOnce(z.union([spec.output, failureOutput])),
    annotations: { ...spec.annotations, title: spec.title },
    ...(spec.meta ? { _meta: spec.meta } : {}),
  });
  return {
    name: spec.name,
    output: spec.output,
    register(server, context) {
      server.registerTool(spec.name, published, (args, call) =>
        guarded(async () => resultOf(await spec.run(args, { ...context, call }))),
      );
    },
  };
}

function resultOf({ structured, text, images }: Answer<Record<string, unknown>>): CallToolResult {
  const content = images.map(({ bytes, mimeType }) => ({ type: "image" as const, data: bytes.toBase64(), mimeType }));
  return { content: [{ type: "text", text }, ...content], structuredContent: structured };
}

function failure(message: string, details: FailureDetails): CallToolResult {
  return {
    isError: true,
    content: [{ type: "text", text: message }],
    structuredContent: { error: message, ...details },
  };
}

/**
 * Failures become `isError: true` results here and only here, so a toolkit failure is never a
 * crash and never a silent success.
 */
async function guarded(body: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof ToolkitError) return failure(capitalize(error.message), { kind: error.kind });
    if (error instanceof UserError) return failure(error.message, error.details);
    console.error("tool failed unexpectedly", error);
    return failure(
      `The Worker failed unexpectedly: ${errorMessage(error)}. This is a bug: check with ` +
        `list_training_jobs or get_dataset_upload what was done before it failed.`,
      { kind: "internal" },
    );
  }
}
