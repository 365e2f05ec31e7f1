import { errorMessage } from "../common";
import { stemOf, type UploadKind } from "./rules";

/** Where a caption came from; a later source replaces an earlier one for the same image. */
export type CaptionSource = "txt" | "page" | "captions.json" | "captions.csv" | "api";

export interface CaptionEntry {
  stem: string;
  text: string;
}

/** captions.json / captions.csv are read whole, so they are kept small. */
export const CAPTION_LIST_MAX_BYTES = 4 * 1024 * 1024;

export class CaptionFileError extends Error {
  override name = "CaptionFileError";
}

/**
 * captions.json: either {"cat_01.png": "a cat", ...} or [{"filename": "cat_01.png",
 * "caption": "a cat"}, ...]. Keys may be file names or stems; pairing is by stem either way.
 */
export function parseCaptionsJson(text: string): CaptionEntry[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CaptionFileError(`captions.json is not valid JSON (${errorMessage(error)}): fix it and upload it again`);
  }
  const entries: CaptionEntry[] = [];
  if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => {
      const record = typeof item === "object" && item !== null ? (item as Record<string, unknown>) : {};
      const name = record.filename ?? record.file ?? record.image;
      const caption = record.caption ?? record.text;
      if (typeof name !== "string" || typeof caption !== "string") {
        throw new CaptionFileError(`captions.json item ${index} needs string fields "filename" and "caption"`);
      }
      entries.push({ stem: stemOf(baseName(name)), text: caption });
    });
    return entries;
  }
  if (typeof value === "object" && value !== null) {
    for (const [name, caption] of Object.entries(value as Record<string, unknown>)) {
      if (typeof caption !== "string")
        throw new CaptionFileError(`captions.json: the caption for ${JSON.stringify(name)} must be a string`);
      entries.push({ stem: stemOf(baseName(name)), text: caption });
    }
    return entries;
  }
  throw new CaptionFileError(
    'captions.json must be an object {"file.png": "caption"} or an array of {"filename", "caption"}',
  );
}

/**
 * captions.csv: two columns, file name then caption, RFC 4180 quoting (captions often hold
 * commas). A first row whose first cell is "filename", "file" or "image" is a header.
 */
export function parseCaptionsCsv(text: string): CaptionEntry[] {
  const rows = parseCsv(text.replace(/^\uFEFF/, ""));
  const entries: CaptionEntry[] = [];
  rows.forEach((row, index) => {
    if (row.length === 1 && row[0]?.trim() === "") return;
    const [name, caption] = row;
    if (index === 0 && /^(file(name)?|image)$/i.test(name?.trim() ?? "")) return;
    if (name === undefined || caption === undefined || row.length > 2) {
      throw new CaptionFileError(
        `captions.csv row ${index + 1} must have exactly two columns: file name, caption (quote captions ` +
          `that hold commas)`,
      );
    }
    entries.push({ stem: stemOf(baseName(name.trim())), text: caption });
  });
  return entries;
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"' && cell === "") quoted = true;
    else if (char === ",") {
      row.push(cell);
      cell = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += char;
  }
  if (quoted) throw new CaptionFileError("captions.csv ends inside a quoted caption: a closing '\"' is missing");
  if (cell !== "" || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function baseName(name: string): string {
  return name.split(/[\\/]/).pop() ?? name;
}

/**
 * The caption the toolkit receives: the image's own caption, else the session's default; the
 * trigger word is put first when the caption does not already contain it, since ai-toolkit
 * learns the trigger from captions.
 */
export function effectiveCaption(own: string | undefined, defaultCaption: string, triggerWord: string): string {
  const caption = (own ?? defaultCaption).trim();
  if (triggerWord === "" || caption.toLowerCase().includes(triggerWord.toLowerCase())) return caption;
  return caption === "" ? triggerWord : `${triggerWord}, ${caption}`;
}

/**
 * Which characters a piece of text may not hold, by what it is written into. Everything the
 * caller sends that ends up in a caption file (.txt) or the training config (YAML) goes through
 * unsafeCharacter; ordinary Unicode (accents, CJK, emoji and their joiners) is always fine.
 */
export interface TextRule {
  /** Tab, line feed and carriage return are allowed (captions are text files); otherwise one line. */
  lines?: boolean;
  /**
   * Also refuse characters that show nothing (zero-width space, direction marks, soft hyphen,
   * byte-order mark): a trigger word must be typed exactly as it was learnt.
   */
  visibleOnly?: boolean;
  /** What the message tells the sender to do (default: remove it, or keep to one line). */
  fix?: string;
}

const CHARACTER_NAMES: Record<number, string> = {
  0x00: "NUL",
  0x07: "BEL",
  0x08: "backspace",
  0x09: "tab",
  0x0a: "line feed",
  0x0b: "vertical tab",
  0x0c: "form feed",
  0x0d: "carriage return",
  0x1b: "ESC",
  0x7f: "DEL",
  0x85: "next line",
  0xad: "soft hyphen",
  0x061c: "Arabic letter mark",
  0x200b: "zero-width space",
  0x200e: "left-to-right mark",
  0x200f: "right-to-left mark",
  0x2028: "line separator",
  0x2029: "paragraph separator",
  0x202a: "left-to-right embedding",
  0x202b: "right-to-left embedding",
  0x202c: "pop directional formatting",
  0x202d: "left-to-right override",
  0x202e: "right-to-left override",
  0x2060: "word joiner",
  0x2066: "left-to-right isolate",
  0x2067: "right-to-left isolate",
  0x2068: "first strong isolate",
  0x2069: "pop directional isolate",
  0xfeff: "byte-order mark",
};

/** What kind of character `code` is, when `rule` refuses it. */
function refusedKind(code: number, rule: TextRule): string | undefined {
  if (code <= 0x1f)
    return rule.lines && (code === 0x09 || code === 0x0a || code === 0x0d) ? undefined : "a control character";
  if (code >= 0x7f && code <= 0x9f) return "a control character";
  if (code === 0x2028 || code === 0x2029) return "a Unicode line break";
  if ((code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069)) return "a bidirectional text control";
  if (code >= 0xd800 && code <= 0xdfff) return "half of a surrogate pair, which is not valid Unicode on its own";
  if (
    rule.visibleOnly &&
    (code === 0xad ||
      code === 0x061c ||
      code === 0x180e ||
      code === 0x200b ||
      code === 0x200e ||
      code === 0x200f ||
      (code >= 0x2060 && code <= 0x2064) ||
      code === 0xfeff)
  ) {
    return "an invisible character";
  }
  return undefined;
}

/**
 * The first character `rule` refuses in `text`, as a message naming the field, the character
 * and its position (1-based, in characters), or undefined when there is none.
 */
export function unsafeCharacter(text: string, field: string, rule: TextRule = {}): string | undefined {
  let position = 0;
  for (const char of text) {
    position++;
    const code = char.codePointAt(0) ?? 0;
    const kind = refusedKind(code, rule);
    if (kind === undefined) continue;
    const hex = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
    const name = CHARACTER_NAMES[code] ? ` (${CHARACTER_NAMES[code]})` : "";
    const fix =
      rule.fix ?? (!rule.lines && (code === 0x0a || code === 0x0d) ? `${field} must be on one line` : "remove it");
    return `${field} contains ${hex}${name}, ${kind}, at position ${position}: ${fix}`;
  }
  return undefined;
}

/** A caption: a text file's content, so tabs and line breaks are fine, other control characters not. */
export function captionProblem(text: string, field: string): string | undefined {
  return unsafeCharacter(text, field, { lines: true });
}

/**
 * The rules every caption an upload session receives must pass, whatever brought it (a .txt
 * file, captions.json or .csv, the page, tus metadata, upload_dataset): its length, its
 * characters, and those of the name it is for. The first problem, or undefined.
 */
export function captionListProblem(entries: readonly CaptionEntry[], maxChars: number): string | undefined {
  for (const entry of entries) {
    const name = unsafeCharacter(entry.stem, `the file name ${JSON.stringify(entry.stem)} a caption is for`);
    if (name) return name;
    const what = `the caption for ${entry.stem}`;
    if (entry.text.length > maxChars) {
      return (
        `${what} is ${entry.text.length} characters, over the ${maxChars}-character limit ` +
        `(UPLOAD_CAPTION_MAX_CHARS): shorten it`
      );
    }
    const problem = captionProblem(entry.text, what);
    if (problem) return problem;
  }
  return undefined;
}

/** The captions a caption upload holds: one for "<stem>.txt", many for a captions list. */
export function captionEntries(kind: UploadKind, name: string, text: string): CaptionEntry[] {
  if (kind === "captions-json") return parseCaptionsJson(text);
  if (kind === "captions-csv") return parseCaptionsCsv(text);
  return [{ stem: stemOf(name), text: text.trim() }];
}
