import { IMAGE_EXTENSIONS, imageExtension } from "./images";

/**
 * What an uploaded file is, decided by its name: images are staged and forwarded; caption
 * files and archives are read by the Worker and never reach the toolkit as they are.
 */
export type UploadKind = "image" | "caption" | "captions-json" | "captions-csv" | "zip";

const MAX_NAME = 128;

/**
 * A file name the toolkit can store safely: the last path component only (a folder upload or
 * a zip entry brings "holiday/IMG 1.jpg"), characters outside [A-Za-z0-9._-] replaced by "_",
 * no leading dots, at most 128 characters with the extension kept. Returns undefined when
 * nothing usable is left, so the caller can say which name was refused.
 */
export function sanitizeFilename(raw: string): string | undefined {
  const base = raw.split(/[\\/]/).pop() ?? "";
  let name = base
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .replace(/^[._]+/, "");
  if (name.length > MAX_NAME) {
    const dot = name.lastIndexOf(".");
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : "";
    name = name.slice(0, MAX_NAME - ext.length) + ext;
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
    return `${JSON.stringify(raw)} has no name before its extension: name the file like cat_01.${lower.replace(/^\./, "")}`;
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
    return `${name} and ${other} share the name "${stem}": the toolkit stores each image's caption as <name>.txt, so one caption would replace the other. Rename one of them (for example ${name.slice(0, dot)}_2${name.slice(dot)})`;
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
