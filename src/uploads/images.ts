/**
 * What counts as a training image, by name and by content: the same rules for images sent
 * inline through MCP and for files uploaded to an upload session.
 */

export const IMAGE_EXTENSIONS = ["png", "jpg", "jpeg", "webp"] as const;
export type ImageExtension = (typeof IMAGE_EXTENSIONS)[number];

/**
 * The image extension of a file name, or undefined. A name needs a stem before the dot: "png"
 * and ".png" are not images (the toolkit would store them as a file called "png" and a caption
 * called "png.txt", or as a hidden file).
 */
export function imageExtension(filename: string): ImageExtension | undefined {
  const dot = filename.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const ext = filename.slice(dot + 1).toLowerCase();
  return (IMAGE_EXTENSIONS as readonly string[]).includes(ext) ? (ext as ImageExtension) : undefined;
}

/**
 * Why a name is not an image's name, or undefined when it is: a stem, a dot, one of the image
 * extensions. The reason reads after the name ("png has no name before its extension...").
 * Inline images (fields.ts) and upload sessions (uploads/names.ts) both use it.
 */
export function imageNameProblem(filename: string): string | undefined {
  if (imageExtension(filename) !== undefined) return undefined;
  const dot = filename.lastIndexOf(".");
  const bare = (dot === 0 ? filename.slice(1) : filename).toLowerCase();
  if (dot <= 0 && (IMAGE_EXTENSIONS as readonly string[]).includes(bare)) {
    return `has no name before its extension: name the file like cat_01.${bare}`;
  }
  return `must end in one of: ${IMAGE_EXTENSIONS.map((ext) => `.${ext}`).join(", ")}`;
}

/** Which image format the first bytes of a file say it is. */
export function sniffImage(head: Uint8Array): "png" | "jpeg" | "webp" | undefined {
  const at = (i: number) => head[i] ?? -1;
  if ([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => at(i) === byte)) return "png";
  if (at(0) === 0xff && at(1) === 0xd8 && at(2) === 0xff) return "jpeg";
  const ascii = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  return undefined;
}

export function extensionMatches(ext: ImageExtension, sniffed: ReturnType<typeof sniffImage>): boolean {
  return sniffed === (ext === "jpg" ? "jpeg" : ext);
}

/** How many first bytes of a file tell its image format. */
export const IMAGE_HEAD_BYTES = 12;

/**
 * The one rule for "is this the image its name says": undefined when the first bytes match
 * the extension, else the refusal. Inline images and uploaded files alike go through it.
 */
export function imageProblem(name: string, head: Uint8Array): string | undefined {
  const ext = imageExtension(name);
  const sniffed = sniffImage(head);
  if (ext && extensionMatches(ext, sniffed)) return undefined;
  return `${name} does not contain a ${ext?.toUpperCase() ?? "supported"} image (its first bytes look like ${sniffed ?? "no supported image format"}): send a real PNG, JPEG or WebP file with the matching extension`;
}
