import { z } from "zod";
import { FILE_NAME_MAX_CHARS } from "../common";
import { IMAGE_HEAD_BYTES, imageNameProblem, imageProblem, sanitizeFilename, stemClash } from "../uploads/rules";
import { unsafeCharacter } from "../uploads/captions";
import { captionText } from "./fields";

/**
 * The rules of upload_dataset's inline images: file names, base64 that decodes to the image
 * its extension promises, and no two images the toolkit would store under one name.
 */

/** An image file name: no folder part, a name and one of the image extensions the toolkit trains on. */
export const imageFilename = z
  .string()
  .min(1, "filename must not be empty")
  .max(FILE_NAME_MAX_CHARS, `filename must be at most ${FILE_NAME_MAX_CHARS} characters`)
  .superRefine((name, ctx) => {
    const problem = /[\\/]/.test(name)
      ? "filename must be a plain file name without any folder part ('/' or '\\')"
      : (unsafeCharacter(name, "filename") ??
        (name.startsWith(".") ? "filename must not start with a dot" : undefined) ??
        (imageNameProblem(name) ? `filename ${imageNameProblem(name)}` : undefined));
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
          message:
            `${image.filename} is ${size} bytes, over the ${maxBytes}-byte limit for inline images: use ` +
            `create_dataset_upload for large files`,
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
 * one would silently replace the other (the rule is stemClash in uploads/rules.ts, as in upload sessions).
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
          ctx.addIssue({
            code: "custom",
            path: [index, "filename"],
            message: `${image.filename} appears twice${how}; file names must be unique`,
          });
          return;
        }
        const clash = stemClash(
          name,
          [...stored.values()].map((other) => other.name),
        );
        if (clash) {
          ctx.addIssue({ code: "custom", path: [index, "filename"], message: clash });
          return;
        }
        stored.set(name.toLowerCase(), { sent: image.filename, name });
      });
    });
