// Types and argument helpers shared by the tool groups.

import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";

import type { DataLayout } from "../paths.ts";
import type { JobRegistry } from "../trainer.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/**
 * A file that goes into a JSON answer as one base64 string. The server encodes it straight
 * into the answer's body buffer instead of building the string (json-body.ts): a 500 MB model
 * is a 667 MB base64 string, which is more than a JavaScript string may hold.
 */
export class FileAsBase64 {
  readonly filePath: string;
  readonly size: number;

  constructor(filePath: string, size: number) {
    this.filePath = filePath;
    this.size = size;
  }
}

/** What a tool answers: plain JSON, possibly with FileAsBase64 leaves to be encoded into the body. */
export type ToolResult = { [key: string]: JsonValue | FileAsBase64 };

export type ToolArgs = Record<string, unknown>;

export interface ToolContext {
  layout: DataLayout;
  jobs: JobRegistry;
}

export type ToolHandler = (args: ToolArgs, ctx: ToolContext) => Promise<ToolResult>;

/**
 * A failure the original reports inside a successful envelope as `{"error": message}`.
 * Anything else a handler throws becomes `success: false` in the envelope, which is how the
 * original reports exceptions it did not anticipate.
 */
export class InBandError extends Error {}

export function requireString(args: ToolArgs, key: string): string {
  const value = args[key];
  if (typeof value !== "string" || value === "") throw new InBandError(`Missing required field: ${key}`);
  return value;
}

export function optionalString(args: ToolArgs, key: string, fallback: string): string {
  const value = args[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string") throw new InBandError(`Invalid value for ${key}: expected a string`);
  return value;
}

/** Integers may arrive as numbers or as digit strings (some clients stringify everything). */
export function optionalInt(args: ToolArgs, key: string, fallback: number): number {
  const value = args[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value.trim())) return Number.parseInt(value, 10);
  throw new InBandError(`Invalid value for ${key}: expected an integer`);
}

export function optionalBool(args: ToolArgs, key: string, fallback: boolean): boolean {
  const value = args[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw new InBandError(`Invalid value for ${key}: expected a boolean`);
}

export function optionalStringArray(args: ToolArgs, key: string): string[] {
  const value = args[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new InBandError(`Invalid value for ${key}: expected an array of strings`);
  }
  return value;
}

/** Directory entries, or none when the directory does not exist yet. */
export async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isErrno(error, "ENOENT")) return [];
    throw error;
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && "code" in error && error.code === code;
}
