import type { StandardSchemaWithJSON } from "@modelcontextprotocol/server";
import type { z } from "zod";

type Converter = StandardSchemaWithJSON["~standard"]["jsonSchema"];
type ConversionOptions = Parameters<Converter["input"]>[0];

/**
 * A tool's zod schema as the MCP SDK takes it (a Standard Schema with JSON Schema), converted to
 * JSON Schema once instead of on every tools/list and tools/call.
 *
 * The SDK converts a tool's schemas through `~standard.jsonSchema` each time it lists the tools
 * and, for the output schema, on every call; with some twenty tools that was most of a tools/list.
 * Tool definitions live as long as the isolate's settings (server.ts), so each conversion is
 * done by zod itself on first use and the answer kept. Validation is zod's own, untouched. The
 * kept JSON Schema is shared by every request of the isolate, so it is frozen: code that tried to
 * change one request's copy would throw instead of changing what the next caller is shown.
 */
export function publishedOnce<S extends z.ZodType>(schema: S): StandardSchemaWithJSON<z.input<S>, z.output<S>> {
  const zod = schema["~standard"];
  const kept = new Map<string, Record<string, unknown>>();
  const converter =
    (io: "input" | "output") =>
    (options: ConversionOptions): Record<string, unknown> => {
      // Library options can change the answer in ways a key cannot name: convert those afresh.
      if (options.libraryOptions !== undefined) return zod.jsonSchema[io](options);
      const key = `${io} ${options.target}`;
      let json = kept.get(key);
      if (!json) {
        json = deepFreeze(zod.jsonSchema[io](options));
        kept.set(key, json);
      }
      return json;
    };
  return {
    "~standard": {
      version: 1,
      vendor: zod.vendor,
      validate: (value) => zod.validate(value),
      jsonSchema: { input: converter("input"), output: converter("output") },
    },
  };
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
