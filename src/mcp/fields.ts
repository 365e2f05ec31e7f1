import { z } from "zod";
import { IMAGE_EXTENSIONS, IMAGE_HEAD_BYTES, imageExtension, imageProblem } from "../images";

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

/**
 * A path on the toolkit's machine that must stay inside `root`: absolute, no `..`, no
 * control characters, strictly below the root. The toolkit itself checks none of this.
 */
export const pathUnder = (field: string, root: string, example: string) =>
  z
    .string()
    .min(1, `${field} must not be empty`)
    .max(512, `${field} must be at most 512 characters`)
    .refine((path) => path.startsWith("/"), `${field} must be an absolute path`)
    .refine((path) => !path.split(/[\\/]/).includes(".."), `${field} must not contain '..'`)
    .refine((path) => !/[\u0000-\u001f]/.test(path), `${field} must not contain control characters`)
    .refine(
      (path) => path.startsWith(`${root}/`) && path.length > root.length + 1,
      `${field} must be under ${root}/ (for example ${root}/${example})`,
    );

/** dataset_path must point inside the toolkit's datasets folder. */
export const datasetPath = (root: string) => pathUnder("dataset_path", root, "my_dataset");

/** An image file name: no folder part, one of the image extensions the toolkit trains on. */
export const imageFilename = z
  .string()
  .min(1, "filename must not be empty")
  .max(128, "filename must be at most 128 characters")
  .refine((name) => !/[\\/]/.test(name), "filename must be a plain file name without any folder part ('/' or '\\')")
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), "filename must not contain control characters")
  .refine((name) => !name.startsWith("."), "filename must not start with a dot")
  .refine(
    (name) => imageExtension(name) !== undefined,
    `filename must end in one of: ${IMAGE_EXTENSIONS.map((ext) => `.${ext}`).join(", ")}`,
  );

/** A trigger word: one line, short enough to lead every caption. */
export const triggerWord = z
  .string()
  .max(64, "trigger_word must be at most 64 characters")
  .regex(/^[^\r\n]*$/, "trigger_word must be on one line");

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
      caption: z
        .string()
        .max(maxCaptionChars, `caption must be at most ${maxCaptionChars} characters`)
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

/** A toolkit job id (a uuid4 from start_training). */
export const jobId = z
  .string()
  .min(1, "job_id must not be empty")
  .max(64, "job_id must be at most 64 characters")
  .regex(/^[A-Za-z0-9-]+$/, "job_id must be a job id as returned by start_training (letters, digits and '-')")
  .describe("The job id returned by start_training");
