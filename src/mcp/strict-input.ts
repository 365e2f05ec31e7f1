import { z } from "zod";

/**
 * Every tool's input schema goes through here (defineTool in tool.ts applies it): objects at
 * every level refuse keys they do not declare, with a message naming each unknown key and the
 * closest known one, so a typo ("step" for "steps") is an error instead of a silently applied
 * default. The answer is a copy of the same schema, so its type stays the caller's.
 */
export function strictInput<T extends z.ZodType>(tool: string, schema: T | undefined): T {
  if (schema === undefined) {
    throw new TypeError(
      `tool ${tool} declares no inputSchema: give it z.object({}) when it takes no arguments, so unknown ` +
        `ones are refused`,
    );
  }
  return strictDeep(schema, tool, []) as T;
}

/** Wrappers whose inner schema is checked as it is: optional, default, nullable... */
const INNER_TYPE = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

function strictDeep(schema: z.ZodType, tool: string, path: readonly string[]): z.ZodType {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  let changes: Record<string, unknown> | undefined;
  if (def.type === "object") {
    const shape = def.shape as Record<string, z.ZodType>;
    const strictShape = Object.fromEntries(
      Object.entries(shape).map(([key, field]) => [key, strictDeep(field, tool, [...path, key])]),
    );
    changes = { shape: strictShape };
    // An object that chose its own catchall (passthrough, a record of extras) keeps it.
    if (def.catchall === undefined) {
      const previous = def.error as ((issue: unknown) => unknown) | undefined;
      const known = Object.keys(shape);
      changes.catchall = z.never();
      changes.error = (issue: { code?: string; keys?: string[] }) =>
        issue.code === "unrecognized_keys" && issue.keys
          ? unknownKeys(issue.keys, known, tool, path.length > 0)
          : previous?.(issue);
    }
  } else if (def.type === "array") {
    changes = { element: strictDeep(def.element as z.ZodType, tool, [...path, "[]"]) };
  } else if (INNER_TYPE.has(def.type)) {
    changes = { innerType: strictDeep(def.innerType as z.ZodType, tool, path) };
  } else if (def.type === "pipe") {
    changes = { in: strictDeep(def.in as z.ZodType, tool, path) };
  }
  if (!changes) return schema;
  const copy = z.clone(schema, z.util.mergeDefs(def, changes) as typeof schema._zod.def);
  // The description lives in the registry under the original: the copy needs it for tools/list.
  const meta = z.globalRegistry.get(schema);
  if (meta) z.globalRegistry.add(copy, meta);
  return copy;
}

/** Keys that older callers nest the real arguments under. */
const WRAPPERS = new Set(["parameters", "arguments", "params", "args", "input"]);

/** "unknown argument `step`: did you mean `steps`?", one sentence per unknown key. */
export function unknownKeys(keys: readonly string[], known: readonly string[], tool: string, nested: boolean): string {
  const noun = nested ? "field" : "argument";
  const list = known.map((key) => `\`${key}\``).join(", ");
  return keys
    .map((key) => {
      const head = `unknown ${noun} \`${key}\``;
      if (!nested && WRAPPERS.has(key)) {
        return known.length
          ? `${head}: give ${tool}'s arguments directly (${list}), not nested under \`${key}\``
          : `${head}: ${tool} takes no arguments`;
      }
      const closest = closestKey(key, known);
      if (closest) return `${head}: did you mean \`${closest}\`?`;
      if (known.length === 0) return `${head}: ${tool} takes no arguments`;
      return `${head}: ${nested ? "the fields here are" : `${tool} takes`} ${list}`;
    })
    .join("; ");
}

/** The known key nearest to `key` (case, '_' and '-' aside), if it is near enough to be a typo. */
export function closestKey(key: string, known: readonly string[]): string | undefined {
  const plain = (text: string) => text.toLowerCase().replace(/[_\-\s]/g, "");
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(plain(key), plain(candidate));
    if (!best || distance < best.distance) best = { key: candidate, distance };
  }
  if (!best) return undefined;
  const allowed = Math.max(1, Math.min(3, Math.floor(plain(best.key).length / 3)));
  return best.distance <= allowed ? best.key : undefined;
}

/** Edit distance with adjacent transpositions ("captoin" is one step from "caption"). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
