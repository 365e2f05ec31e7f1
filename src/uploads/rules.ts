import { FILE_NAME_MAX_CHARS } from "../common";
import { R2_MIN_PART_BYTES } from "../r2/multipart";
import type { PartRow } from "./store";
import type { Manifest } from "./types";

/**
 * The rules a file must pass to enter an upload session, each a pure function so it is
 * tested without a session: what counts as an image (by name and by its first bytes), what
 * a file name may be and what it makes of the file, how parts must be cut, and the size and
 * count limits. Inline images sent through MCP (fields.ts) pass the same image and name rules.
 */

// Images: by name and by content.

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
 * Inline images (fields.ts) and upload sessions both use it.
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
  return (
    `${name} does not contain a ${ext?.toUpperCase() ?? "supported"} image (its first bytes look like ` +
    `${sniffed ?? "no supported image format"}): send a real PNG, JPEG or WebP file with the matching ` +
    `extension`
  );
}

// Names: what a file is, what it is stored as.

/**
 * What an uploaded file is, decided by its name: images are staged and forwarded; caption
 * files and archives are read by the Worker and never reach the toolkit as they are.
 */
export type UploadKind = "image" | "caption" | "captions-json" | "captions-csv" | "zip";

/**
 * A file name the toolkit can store safely: the last path component only (a folder upload or
 * a zip entry brings "holiday/IMG 1.jpg"), characters outside [A-Za-z0-9._-] replaced by "_",
 * no leading dots, at most FILE_NAME_MAX_CHARS characters with the extension kept. Returns undefined when
 * nothing usable is left, so the caller can say which name was refused.
 */
export function sanitizeFilename(raw: string): string | undefined {
  const base = raw.split(/[\\/]/).pop() ?? "";
  let name = base
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "");
  if (name.length > FILE_NAME_MAX_CHARS) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : "";
    name = name.slice(0, FILE_NAME_MAX_CHARS - ext.length) + ext;
  }
  if (name === "" || name === "_" || /^\.+$/.test(name)) return undefined;
  return name;
}

/**
 * What a (sanitised) file name is. Every kind needs a stem before its extension: "png",
 * ".png" or "txt" are nothing (see nameRefusal for why they are refused).
 */
export function uploadKind(name: string): UploadKind | undefined {
  const lower = name.toLowerCase();
  if (lower === "captions.json") return "captions-json";
  if (lower === "captions.csv") return "captions-csv";
  if (lower.lastIndexOf(".") <= 0) return undefined;
  if (lower.endsWith(".txt")) return "caption";
  if (lower.endsWith(".zip")) return "zip";
  if (imageExtension(name) !== undefined) return "image";
  return undefined;
}

const KNOWN_EXTENSIONS: readonly string[] = [...IMAGE_EXTENSIONS, "txt", "zip"];

/**
 * Why a file is refused when uploadKind knows nothing of its name. `raw` is the name as sent:
 * ".png" loses its leading dot when sanitised, so the refusal names what the sender sent.
 */
export function nameRefusal(raw: string, name: string): string {
  const lower = name.toLowerCase();
  if (lower.lastIndexOf(".") <= 0 && KNOWN_EXTENSIONS.includes(lower.replace(/^\./, ""))) {
    return (
      `${JSON.stringify(raw)} has no name before its extension: name the file like ` +
      `cat_01.${lower.replace(/^\./, "")}`
    );
  }
  return `${name} is not accepted here: send ${ACCEPTED_FILES}`;
}

/** The stem that pairs an image with its caption: "cat_01.PNG" and "cat_01.txt" share "cat_01". */
export function stemOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? name.slice(0, dot) : name).toLowerCase();
}

/**
 * The one rule for two images with one stem ("a.png" and "a.jpg"): the toolkit writes each
 * image's caption to <stem>.txt, so the second caption would silently replace the first.
 * Given the image's name and the names of the images already there, the refusal, or undefined.
 * The same name again (any case) is the same file, not a clash.
 */
export function stemClash(name: string, others: Iterable<string>): string | undefined {
  const stem = stemOf(name);
  const dot = name.lastIndexOf(".");
  for (const other of others) {
    if (other.toLowerCase() === name.toLowerCase() || stemOf(other) !== stem || uploadKind(other) !== "image") continue;
    return (
      `${name} and ${other} share the name "${stem}": the toolkit stores each image's caption as <name>.txt, ` +
      `so one caption would replace the other. Rename one of them (for example ` +
      `${name.slice(0, dot)}_2${name.slice(dot)})`
    );
  }
  return undefined;
}

/**
 * A name not yet taken, for files whose names collide only after sanitising or that come from
 * different folders of one zip: "a.png", then "a-2.png", "a-3.png"...
 */
export function uniqueName(name: string, taken: (candidate: string) => boolean): string {
  if (!taken(name)) return name;
  const dot = name.lastIndexOf(".");
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : "";
  for (let i = 2; ; i++) {
    const candidate = `${stem}-${i}${ext}`;
    if (!taken(candidate)) return candidate;
  }
}

export const ACCEPTED_FILES =
  "images (.png, .jpg, .jpeg, .webp), captions (<image stem>.txt, captions.json, captions.csv) or a .zip of them";

/** Where a file of this session lives in R2: archives apart, since they are never forwarded. */
export function stagedKey(prefix: string, name: string): string {
  return `${prefix}${uploadKind(name) === "zip" ? "archives" : "files"}/${name}`;
}

// Parts: R2's multipart rules, checked before R2 is asked.

/** R2 numbers parts 1 to 10000. */
export const PART_MAX_NUMBER = 10_000;

/**
 * Why these parts cannot be joined yet, or undefined when they can. Checked before asking R2,
 * so the client hears which part to resend instead of R2's generic refusal.
 */
export function checkParts(name: string, parts: readonly PartRow[]): string | undefined {
  if (parts.length === 0)
    return `no parts of ${name} have arrived: send them with PUT .../files/${name}/parts/1, 2, ...`;
  const sorted = [...parts].sort((a, b) => a.n - b.n);
  const missing: number[] = [];
  let expected = 1;
  for (const part of sorted) {
    while (expected < part.n && missing.length < 10) missing.push(expected++);
    expected = part.n + 1;
  }
  if (missing.length > 0)
    return (
      `${name} is missing part${missing.length === 1 ? "" : "s"} ${missing.join(", ")}: send ` +
      `${missing.length === 1 ? "it" : "them"}, then complete again`
    );
  const first = sorted[0];
  for (const part of sorted.slice(0, -1)) {
    if (part.size < R2_MIN_PART_BYTES) {
      return (
        `part ${part.n} of ${name} is ${part.size} bytes; every part but the last must be at least ` +
        `${R2_MIN_PART_BYTES} bytes (5 MiB): resend the file with bigger parts`
      );
    }
    if (first && part.size !== first.size) {
      return (
        `part ${part.n} of ${name} is ${part.size} bytes but part 1 is ${first.size}; every part but the ` +
        `last must be the same size: resend part ${part.n}`
      );
    }
  }
  const last = sorted[sorted.length - 1];
  if (first && last && sorted.length > 1 && last.size > first.size) {
    return `the last part of ${name} (${last.n}) is bigger than the others: resend it split at ${first.size} bytes`;
  }
  return undefined;
}

// Limits: sizes and counts of a session.

/** What a session knows when a file (or one more part of it) asks to come in. */
export interface Admission {
  name: string;
  kind: UploadKind;
  /** Bytes this request brings. */
  size: number;
  /** Bytes of this file already received in earlier parts. */
  receivedBytes: number;
  /** Bytes the session holds, not counting a whole file this request replaces. */
  sessionBytes: number;
  /** Images the session holds. */
  imageCount: number;
  /** True when the name is new to the session (a replacement does not add an image). */
  isNew: boolean;
}

/**
 * The size and count rules of an upload session, each refusal saying which setting set the
 * bound and what to do. A pure function, so every rule is tested without a session.
 */
export function limitProblem(a: Admission, limits: Manifest["limits"]): string | undefined {
  if (a.kind === "image" && a.receivedBytes + a.size > limits.file_max_bytes) {
    return (
      `${a.name} is over the ${limits.file_max_bytes}-byte limit per image (UPLOAD_FILE_MAX_BYTES, and one ` +
      `image must fit one toolkit batch): resize or recompress it`
    );
  }
  if (a.sessionBytes + a.size > limits.session_max_bytes) {
    return (
      `${a.name} would take this session over its ${limits.session_max_bytes}-byte limit ` +
      `(UPLOAD_SESSION_MAX_BYTES): finalize this session and put the rest in another`
    );
  }
  if (a.kind === "image" && a.isNew && a.imageCount >= limits.session_max_files) {
    return (
      `this session already holds ${limits.session_max_files} images (UPLOAD_SESSION_MAX_FILES): finalize it ` +
      `and put the rest in another`
    );
  }
  return undefined;
}
