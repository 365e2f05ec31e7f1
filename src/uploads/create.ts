import { sessionStub } from "./session";
import type { Manifest, NewSession } from "./types";

/**
 * Opening an upload session and its secret URL. The URL's token is the only credential of
 * the session (people upload from machines that have no OAuth client), so it is 128 random
 * bits, and the Worker keeps only its SHA-256: the session's Durable Object is named by the
 * hash and its R2 keys start with part of the hash, so neither logs nor storage reveal a
 * working URL.
 */
export const TOKEN_PATTERN = /^[0-9a-f]{32}$/;

export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export interface CreatedSession {
  token: string;
  tokenHash: string;
  /** Absolute when the origin is known, else relative to the Worker (/uploads/...). */
  uploadUrl: string;
  pageUrl: string;
  /** The tus 1.0 creation endpoint, for resumable clients such as tus-js-client. */
  tusUrl: string;
  manifest: Manifest;
}

/** Opens a new upload session and returns its secret URL (shown once, never stored). */
export async function createUploadSession(
  env: Env,
  origin: string | undefined,
  init: Omit<NewSession, "tokenHash">,
): Promise<CreatedSession> {
  const token = newToken();
  const tokenHash = await hashToken(token);
  const manifest = await sessionStub(env, tokenHash).create({ ...init, tokenHash });
  const uploadUrl = `${origin ?? ""}/uploads/${token}`;
  return { token, tokenHash, uploadUrl, pageUrl: `${uploadUrl}/page`, tusUrl: `${uploadUrl}/tus/`, manifest };
}
