import type { NewSession } from "./types";
import { hashToken, newToken, sessionStub } from "./token";
import type { Manifest } from "./types";

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
export async function createUploadSession(env: Env, origin: string | undefined, init: Omit<NewSession, "tokenHash">): Promise<CreatedSession> {
  const token = newToken();
  const tokenHash = await hashToken(token);
  const manifest = await sessionStub(env, tokenHash).create({ ...init, tokenHash });
  const uploadUrl = `${origin ?? ""}/uploads/${token}`;
  return { token, tokenHash, uploadUrl, pageUrl: `${uploadUrl}/page`, tusUrl: `${uploadUrl}/tus/`, manifest };
}
