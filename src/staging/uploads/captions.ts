import { stemOf, type UploadKind } from "./names";

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
    throw new CaptionFileError(`captions.json is not valid JSON (${error instanceof Error ? error.message : String(error)}): fix it and upload it again`);
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
      if (typeof caption !== "string") throw new CaptionFileError(`captions.json: the caption for ${JSON.stringify(name)} must be a string`);
      entries.push({ stem: stemOf(baseName(name)), text: caption });
    }
    return entries;
  }
  throw new CaptionFileError('captions.json must be an object {"file.png": "caption"} or an array of {"filename", "caption"}');
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
      throw new CaptionFileError(`captions.csv row ${index + 1} must have exactly two columns: file name, caption (quote captions that hold commas)`);
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

/** The captions a caption upload holds: one for "<stem>.txt", many for a captions list. */
export function captionEntries(kind: UploadKind, name: string, text: string): CaptionEntry[] {
  if (kind === "captions-json") return parseCaptionsJson(text);
  if (kind === "captions-csv") return parseCaptionsCsv(text);
  return [{ stem: stemOf(name), text: text.trim() }];
}
