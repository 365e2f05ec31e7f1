import packageJson from "../package.json";

/** Small facts and helpers that every part of the Worker shares: one definition each. */

/** The Worker's version, as published in /health and the MCP server info. */
export const WORKER_VERSION: string = packageJson.version;
export const WORKER_NAME = "AI Toolkit edge MCP";

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/** Longest file name the Worker stores or sends to the toolkit, extension included. */
export const FILE_NAME_MAX_CHARS = 128;

/** Upper-cases the first letter: messages are built lower-case so they can be embedded. */
export function capitalize(text: string): string {
  // ai-toolkit is a name, and is written in lower case even at the start of a sentence.
  if (text.startsWith("ai-toolkit")) return text;
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Escapes text for HTML: everything a client or a file name says is attacker-chosen. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** "1 image", "2 images". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** The message of anything thrown: an Error's message, or the thrown value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The pieces joined into one array (the piece itself when there is only one). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
