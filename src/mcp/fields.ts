import { z } from "zod";
import { FILE_NAME_MAX_CHARS } from "../common";
import { captionProblem, unsafeCharacter } from "../uploads/captions";

/**
 * Validation rules of names, paths and one-line texts, shared by several tools. Each rule is the field's validation,
 * its
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
    return path.endsWith("/") && !folder
      ? `${field} must name a file, not end in '/'`
      : `${field} must not contain empty segments ('//')`;
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
    if (!withoutSlash(path).startsWith(`${root}/`))
      return `${field} must be under ${root}/ (for example ${root}/${example})`;
    return undefined;
  });

/**
 * dataset_path: a dataset's name as list_datasets shows it (the upstream places it in its own
 * datasets folder, whatever that folder is called on the GPU box), or an absolute path inside
 * the toolkit's datasets folder.
 */
export const datasetPath = (root: string) => {
  const name = safeName("dataset_path");
  const path = pathUnder("dataset_path", root, "my_dataset");
  return z
    .string()
    .min(1, "dataset_path must not be empty")
    .max(512, "dataset_path must be at most 512 characters")
    .superRefine((value, ctx) => {
      const rule = value.includes("/") || value.includes("\\") ? path : name;
      for (const issue of rule.safeParse(value).error?.issues ?? [])
        ctx.addIssue({ code: "custom", message: issue.message });
    });
};

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
  if (problem)
    return problem.includes(" at position ") ? problem : `${problem}: exports go to ${root}/, for example ${example}`;
  const slash = path.lastIndexOf("/");
  const folder = path.slice(0, slash);
  const file = path.slice(slash + 1);
  if (folder !== root) {
    const where = folder.startsWith(`${root}/`)
      ? `not into a subfolder of ${root}/`
      : `never anywhere else (the toolkit's own files, configs and datasets stay untouched)`;
    return `output_path must be a file directly inside ${root}/, for example ${example}: exports go there, ${where}`;
  }
  if (file.length > FILE_NAME_MAX_CHARS)
    return `output_path's file name must be at most ${FILE_NAME_MAX_CHARS} characters`;
  if (!/^[A-Za-z0-9._-]+$/.test(file))
    return "output_path's file name may contain only letters, digits, '.', '_' and '-'";
  const dot = file.lastIndexOf(".");
  const extension = dot < 0 ? file : file.slice(dot + 1);
  const extensions = MODEL_EXTENSIONS.map((ext) => `.${ext}`).join(", ");
  if (!(MODEL_EXTENSIONS as readonly string[]).includes(extension))
    return `output_path's file name must end in one of: ${extensions} (for example ${example})`;
  if (dot <= 0 || file.startsWith("."))
    return (
      `output_path's file name needs a name before its extension and must not start with a dot (for example ` +
      `${example})`
    );
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
  const accepted =
    `a Hugging Face model id "owner/name" (for example black-forest-labs/FLUX.1-dev) or an absolute path ` +
    `under ${modelsRoot}/`;
  if (value.startsWith("/")) {
    const problem = pathProblem("model_name", value, true);
    if (problem) return problem;
    if (withoutSlash(value) === modelsRoot)
      return `model_name must name a model folder or file inside ${modelsRoot}/, not the folder itself`;
    if (!withoutSlash(value).startsWith(`${modelsRoot}/`))
      return `model_name must be ${accepted}: ${value} is outside ${modelsRoot}/`;
    return undefined;
  }
  const character = unsafeCharacter(value, "model_name");
  if (character) return character;
  const parts = value.split("/");
  if (parts.length === 3 && /\.(safetensors|ckpt|pt|bin)$/i.test(value)) {
    return (
      `model_name must be ${accepted}: a file inside a repository is not a model id; put the file under ` +
      `${modelsRoot}/ and give its absolute path`
    );
  }
  if (parts.length !== 2) return `model_name must be ${accepted}`;
  for (const part of parts) {
    if (!HF_PART.test(part) || part.includes("--") || part.includes("..")) {
      return (
        `model_name must be ${accepted}: ${JSON.stringify(part)} is not a valid Hugging Face owner or name ` +
        `(letters, digits, '-', '_' and '.', not starting or ending with '-' or '.', no '--' or '..', at ` +
        `most 96 characters)`
      );
    }
  }
  if (value.endsWith(".git")) return `model_name must be ${accepted}: a Hugging Face id does not end in .git`;
  return undefined;
}

export const baseModel = (modelsRoot: string) =>
  ruled("model_name", 512, (value) => baseModelProblem(value, modelsRoot));

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

/** A toolkit job id (a uuid4 from start_training). */
export const jobId = z
  .string()
  .min(1, "job_id must not be empty")
  .max(64, "job_id must be at most 64 characters")
  .regex(/^[A-Za-z0-9-]+$/, "job_id must be a job id as returned by start_training (letters, digits and '-')")
  .describe("The job id returned by start_training");

/** Charts are drawn on their own background; this picks the one that suits the client's. */
export const chartTheme = z
  .enum(["light", "dark"])
  .default("light")
  .describe("Chart colours: light (default) or dark background");
