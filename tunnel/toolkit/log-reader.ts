// Reading training logs the way the original does: Python text mode.
//
// Python opens the log with universal newlines, so `\r`, `\n` and `\r\n` all end a line and are
// all read back as `\n`. tqdm rewrites its progress line with `\r`, so every tqdm update comes
// back as its own line. `readlines()` keeps the terminator, so every line ends in `\n` except a
// last one the writer has not finished (tqdm's current update, while a run is going).

import { readFile } from "node:fs/promises";

import { isErrno } from "./tools/common.ts";

/** Splits text into lines exactly like Python's text-mode `readlines()`. */
export function splitLinesUniversal(text: string): string[] {
  const lines: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch !== 10 && ch !== 13) continue;
    lines.push(`${text.slice(start, i)}\n`);
    if (ch === 13 && text.charCodeAt(i + 1) === 10) i++;
    start = i + 1;
  }
  if (start < text.length) lines.push(text.slice(start));
  return lines;
}

/** The log's lines, or null when the file does not exist. */
export async function readLogLines(file: string): Promise<string[] | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if (isErrno(error, "ENOENT")) return null;
    throw error;
  }
  // Non-strict decoding: a trainer that prints a stray invalid byte must not hide the whole log.
  return splitLinesUniversal(new TextDecoder("utf-8").decode(bytes));
}

/**
 * Progress as the original computes it, quirks included: the newest of the last 100 lines that
 * contains "step" (any case) and a `/`, with an `N/M` in it, gives int(N / M * 100). A first
 * such line with M = 0 raised ZeroDivisionError in the original, which ended the search at 0.
 * ai-toolkit's tqdm output never contains "step", so against a real run this stays 0: the Worker
 * reads progress from the tqdm lines itself, and this server must not hide that by being smarter.
 */
export function progressFromLines(lines: readonly string[]): number {
  const recent = lines.slice(-100);
  for (let i = recent.length - 1; i >= 0; i--) {
    const line = recent[i] ?? "";
    if (!line.toLowerCase().includes("step") || !line.includes("/")) continue;
    const match = /(\d+)\/(\d+)/.exec(line);
    if (!match) continue;
    const current = Number(match[1]);
    const total = Number(match[2]);
    if (total === 0) return 0;
    return Math.trunc((current / total) * 100);
  }
  return 0;
}

/** Python's `items[-n:]`, including its quirks: n = 0 gives everything, negative n drops from the front. */
export function pythonTail<T>(items: readonly T[], n: number): T[] {
  const start = -n;
  if (start === 0) return items.slice();
  return start < 0 ? items.slice(Math.max(items.length + start, 0)) : items.slice(Math.min(start, items.length));
}
