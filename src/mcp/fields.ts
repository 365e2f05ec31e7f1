import { z } from "zod";
import { IMAGE_HEAD_BYTES, imageNameProblem, imageProblem, sanitizeFilename, stemClash } from "../uploads/rules";
import { captionProblem, unsafeCharacter } from "../uploads/captions";

/**
 * Validation rules shared by several tools. Each rule is the field's validation, its
 * TypeScript type and (through the MCP SDK) its published JSON Schema, so a message here is
 * what a client sees when it sends bad input. Nothing reaches the toolkit unless it passes.
 */

/** Config, dataset and model names: they become file and folder names on the toolkit. */
export const safeName = (what: string) =>
  z
    .string()
    .min(1, `${what} must not be empty`)
    .max(64, `${what} must be at most 64 characters`)
    .regex(/^[A-Za-z0-9._-]+$/, `${what} may contain only letters, digits, '.', '_' and '-'`)
    .refine((name) => !name.startsWith("."), `${what} must not start with a dot`);

/** A zod string whose one rule is `problem` (undefined when the value passes). */
const ruled = (field: string, maxLength: number, problem: (value: string) => string | undefined) =>
  z
    .string()
    .min(1, `${field} must not be empty`)
    .max(maxLength, `${field} must be at most ${maxLength} characters`)
    .superRefine((value, ctx) => {
      const message = problem(value);
      if (message) ctx.addIssue({ code: "custom", message });
    });

/**
 * Whether `path` is a clean absolute path: no control characters, '/' as the only separator,
 * and no '..', '.' or empty segments, so what the Worker checks is exactly what the toolkit
 * opens. A folder may end in one '/'. The first problem, or undefined.
 */
export function pathProblem(field: string, path: string, folder: boolean): string | undefined {
  const character = unsafeCharacter(path, field, { fix: "remove it" });
  if (character) return character;
  if (path.includes("\\")) return `${field} must use '/' between folders, not '\\'`;
  if (!path.startsWith("/")) return `${field} must be an absolute path (starting with '/')`;
  const segments = path.slice(1).split("/");
  if (folder && segments.length > 1 && segments.at(-1) === "") segments.pop();
  if (segments.includes("..")) return `${field} must not contain '..'`;
  if (segments.includes(".")) return `${field} must not contain '.' segments ('/./')`;
  if (segments.includes("")) {
    return path.endsWith("/") && !folder ? `${field} must name a file, not end in '/'` : `${field} must not contain empty segments ('//')`;
  }
  return undefined;
}

/** `path` without one trailing '/'. */
const withoutSlash = (path: string) => (path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path);

/**
 * A folder or file on the toolkit's machine that must stay strictly inside `root`: a clean
 * absolute path (pathProblem) below it. The toolkit itself checks none of this.
 */
export const pathUnder = (field: string, root: string, example: string) =>
  ruled(field, 512, (path) => {
    const problem = pathProblem(field, path, true);
    if (problem) return problem;
    if (!withoutSlash(path).startsWith(`${root}/`)) return `${field} must be under ${root}/ (for example ${root}/${example})`;
    return undefined;
  });

/** dataset_path must point inside the toolkit's datasets folder. */
export const datasetPath = (root: string) => pathUnder("dataset_path", root, "my_dataset");

/** What export_model may write: ai-toolkit's model formats, as list_exported_models finds them. */
export const MODEL_EXTENSIONS = ["safetensors", "ckpt", "pt"] as const;

/**
 * export_model's output_path: a file directly inside the exports folder (EXPORT_ROOT, the
 * toolkit's outputs folder or a folder in it), named [A-Za-z0-9._-] with a model extension.
 * Subfolders are refused too: the toolkit creates whatever folders a path names, and a name
 * ending in '/' is copied to a file named like the folder when the folder does not exist yet.
 */
export function exportPathProblem(path: string, root: string): string | undefined {
  const example = `${root}/my_lora.safetensors`;
  const problem = pathProblem("output_path", path, false);
  if (problem) return problem.includes(" at position ") ? problem : `${problem}: exports go to ${root}/, for example ${example}`;
  const slash = path.lastIndexOf("/");
  const folder = path.slice(0, slash);
  const file = path.slice(slash + 1);
  if (folder !== root) {
    const where = folder.startsWith(`${root}/`) ? `not into a subfolder of ${root}/` : `never anywhere else (the toolkit's own files, configs and datasets stay untouched)`;
    return `output_path must be a file directly inside ${root}/, for example ${example}: exports go there, ${where}`;
  }
  if (file.length > 128) return "output_path's file name must be at most 128 characters";
  if (!/^[A-Za-z0-9._-]+$/.test(file)) return "output_path's file name may contain only letters, digits, '.', '_' and '-'";
  const dot = file.lastIndexOf(".");
  const extension = dot < 0 ? file : file.slice(dot + 1);
  const extensions = MODEL_EXTENSIONS.map((ext) => `.${ext}`).join(", ");
  if (!(MODEL_EXTENSIONS as readonly string[]).includes(extension)) return `output_path's file name must end in one of: ${extensions} (for example ${example})`;
  if (dot <= 0 || file.startsWith(".")) return `output_path's file name needs a name before its extension and must not start with a dot (for example ${example})`;
  return undefined;
}

export const exportPath = (root: string) => ruled("output_path", 512, (path) => exportPathProblem(path, root));

/** One part of a Hugging Face repo id, by the Hub's own rules (huggingface_hub validate_repo_id). */
const HF_PART = /^[A-Za-z0-9_](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?$/;

/**
 * create_training_config's model_name, which ai-toolkit loads as the base model: either a
 * Hugging Face model id "owner/name", or an absolute path under MODELS_ROOT (a model folder or
 * file). Anything else is refused: a bare name or "a/b/c" would be read as a path relative to
 * the toolkit's folder, and a path outside MODELS_ROOT could point anywhere on the machine.
 */
export function baseModelProblem(value: string, modelsRoot: string): string | undefined {
  const accepted = `a Hugging Face model id "owner/name" (for example black-forest-labs/FLUX.1-dev) or an absolute path under ${modelsRoot}/`;
  if (value.startsWith("/")) {
    const problem = pathProblem("model_name", value, true);
    if (problem) return problem;
    if (withoutSlash(value) === modelsRoot) return `model_name must name a model folder or file inside ${modelsRoot}/, not the folder itself`;
    if (!withoutSlash(value).startsWith(`${modelsRoot}/`)) return `model_name must be ${accepted}: ${value} is outside ${modelsRoot}/`;
    return undefined;
  }
  const character = unsafeCharacter(value, "model_name");
  if (character) return character;
  const parts = value.split("/");
  if (parts.length === 3 && /\.(safetensors|ckpt|pt|bin)$/i.test(value)) {
    return `model_name must be ${accepted}: a file inside a repository is not a model id; put the file under ${modelsRoot}/ and give its absolute path`;
  }
  if (parts.length !== 2) return `model_name must be ${accepted}`;
  for (const part of parts) {
    if (!HF_PART.test(part) || part.includes("--") || part.includes("..")) {
      return `model_name must be ${accepted}: ${JSON.stringify(part)} is not a valid Hugging Face owner or name (letters, digits, '-', '_' and '.', not starting or ending with '-' or '.', no '--' or '..', at most 96 characters)`;
    }
  }
  if (value.endsWith(".git")) return `model_name must be ${accepted}: a Hugging Face id does not end in .git`;
  return undefined;
}

export const baseModel = (modelsRoot: string) => ruled("model_name", 512, (value) => baseModelProblem(value, modelsRoot));

/** An image file name: no folder part, a name and one of the image extensions the toolkit trains on. */
export const imageFilename = z
  .string()
  .min(1, "filename must not be empty")
  .max(128, "filename must be at most 128 characters")
  .superRefine((name, ctx) => {
    const problem = /[\\/]/.test(name)
      ? "filename must be a plain file name without any folder part ('/' or '\\')"
      : unsafeCharacter(name, "filename") ??
        (name.startsWith(".") ? "filename must not start with a dot" : undefined) ??
        (imageNameProblem(name) ? `filename ${imageNameProblem(name)}` : undefined);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/**
 * A trigger word: one line, short enough to lead every caption, written into every caption and
 * the training config, so no control characters, Unicode line breaks, bidirectional controls or
 * invisible characters (a word nobody can see cannot be typed in a prompt).
 */
export const triggerWord = z
  .string()
  .max(64, "trigger_word must be at most 64 characters")
  .superRefine((word, ctx) => {
    const problem = unsafeCharacter(word, "trigger_word", { visibleOnly: true });
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A caption (or default caption): text written to a .txt file, so tabs and line breaks are fine. */
export const captionText = (field: string, maxChars: number) =>
  z
    .string()
    .max(maxChars, `${field} must be at most ${maxChars} characters`)
    .superRefine((text, ctx) => {
      const problem = captionProblem(text, field);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    });

/** A test prompt: one line of the training config. */
export const testPrompt = z
  .string()
  .min(1, "a test prompt must not be empty")
  .max(1000, "a test prompt must be at most 1000 characters")
  .superRefine((prompt, ctx) => {
    const problem = unsafeCharacter(prompt, "a test prompt");
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decoded size of a base64 string, without decoding it. */
export function base64DecodedLength(data: string): number {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return (data.length / 4) * 3 - padding;
}

export function decodeBase64Head(data: string, bytes: number): Uint8Array {
  const chars = Math.ceil(bytes / 3) * 4;
  const binary = atob(data.slice(0, Math.min(chars, data.length)));
  return Uint8Array.from(binary, (char) => char.charCodeAt(0));
}

/**
 * An inline image: base64 that decodes, within the size limit, to bytes whose magic number
 * matches the file's extension. The check reads only the first bytes, so a large image is
 * never decoded here.
 */
export const inlineImage = (maxBytes: number, maxCaptionChars: number) =>
  z
    .object({
      filename: imageFilename.describe("Plain file name with an image extension (png, jpg, jpeg, webp), no folders"),
      data: z
        .string()
        .min(1, "data must not be empty")
        .describe("The image's bytes, base64-encoded (standard alphabet, with padding)"),
      caption: captionText("caption", maxCaptionChars)
        .default("")
        .describe("Caption written next to the image as <name>.txt; include the trigger word"),
    })
    .superRefine((image, ctx) => {
      const data = image.data.replace(/\s+/g, "");
      if (data.length % 4 !== 0 || !BASE64.test(data)) {
        ctx.addIssue({ code: "custom", path: ["data"], message: `data of ${image.filename} is not valid base64` });
        return;
      }
      const size = base64DecodedLength(data);
      if (size > maxBytes) {
        ctx.addIssue({
          code: "custom",
          path: ["data"],
          message: `${image.filename} is ${size} bytes, over the ${maxBytes}-byte limit for inline images: use create_dataset_upload for large files`,
        });
        return;
      }
      const problem = imageProblem(image.filename, decodeBase64Head(data, IMAGE_HEAD_BYTES));
      if (problem) {
        ctx.addIssue({ code: "custom", path: ["data"], message: problem });
      }
    });

/**
 * upload_dataset's images: each an inlineImage, and no two stored under one name. Names are
 * compared as the toolkit will store them (sanitised, any case), and two images with one stem
 * ("a.png", "a.jpg") are refused as well, since the toolkit writes both captions to a.txt and
 * one would silently replace the other (the rule is names.ts's stemClash, as in upload sessions).
 */
export const inlineImages = (maxBytes: number, maxCaptionChars: number, maxImages: number) =>
  z
    .array(inlineImage(maxBytes, maxCaptionChars))
    .min(1, "images must hold at least one image")
    .max(maxImages, `images may hold at most ${maxImages} images per call`)
    .superRefine((images, ctx) => {
      // Lower-cased stored name -> the name as sent, and as stored.
      const stored = new Map<string, { sent: string; name: string }>();
      images.forEach((image, index) => {
        const name = sanitizeFilename(image.filename) ?? image.filename;
        const same = stored.get(name.toLowerCase());
        if (same !== undefined) {
          const how = same.sent === image.filename ? "" : ` (as ${same.sent}: both are stored as ${name})`;
          ctx.addIssue({ code: "custom", path: [index, "filename"], message: `${image.filename} appears twice${how}; file names must be unique` });
          return;
        }
        const clash = stemClash(name, [...stored.values()].map((other) => other.name));
        if (clash) {
          ctx.addIssue({ code: "custom", path: [index, "filename"], message: clash });
          return;
        }
        stored.set(name.toLowerCase(), { sent: image.filename, name });
      });
    });

/** A toolkit job id (a uuid4 from start_training). */
export const jobId = z
  .string()
  .min(1, "job_id must not be empty")
  .max(64, "job_id must be at most 64 characters")
  .regex(/^[A-Za-z0-9-]+$/, "job_id must be a job id as returned by start_training (letters, digits and '-')")
  .describe("The job id returned by start_training");

/**
 * Every tool's input schema goes through here (server.ts registers every tool through
 * strictToolInputs): objects at every level refuse keys they do not declare, with a message
 * naming each unknown key and the closest known one, so a typo ("step" for "steps") is an
 * error instead of a silently applied default. A raw shape ({ field: z.string() }, the older
 * way of giving a tool's parameters, which the SDK wraps in z.object) is handled alike.
 */
export function strictInput(tool: string, schema: unknown): z.ZodType {
  if (schema === undefined) {
    throw new TypeError(`tool ${tool} declares no inputSchema: give it z.object({}) when it takes no arguments, so unknown ones are refused`);
  }
  if (schema instanceof z.ZodType) return strictDeep(schema, tool, []);
  if (typeof schema === "object" && schema !== null && Object.values(schema).every((field) => field instanceof z.ZodType)) {
    return strictDeep(z.object(schema as z.ZodRawShape), tool, []);
  }
  throw new TypeError(`tool ${tool}: its inputSchema must be a zod schema (or a raw shape of them) so unknown arguments can be refused`);
}

/** Wrappers whose inner schema is checked as it is: optional, default, nullable... */
const INNER_TYPE = new Set(["optional", "nullable", "default", "prefault", "nonoptional", "readonly", "catch"]);

function strictDeep(schema: z.ZodType, tool: string, path: readonly string[]): z.ZodType {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  let changes: Record<string, unknown> | undefined;
  if (def.type === "object") {
    const shape = def.shape as Record<string, z.ZodType>;
    const strictShape = Object.fromEntries(Object.entries(shape).map(([key, field]) => [key, strictDeep(field, tool, [...path, key])]));
    changes = { shape: strictShape };
    // An object that chose its own catchall (passthrough, a record of extras) keeps it.
    if (def.catchall === undefined) {
      const previous = def.error as ((issue: unknown) => unknown) | undefined;
      const known = Object.keys(shape);
      changes.catchall = z.never();
      changes.error = (issue: { code?: string; keys?: string[] }) =>
        issue.code === "unrecognized_keys" && issue.keys ? unknownKeys(issue.keys, known, tool, path.length > 0) : previous?.(issue);
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
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
