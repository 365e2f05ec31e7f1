/**
 * The upload URL's token is the only credential of an upload session (people upload from
 * machines that have no OAuth client), so it is 128 random bits, and the Worker keeps only
 * its SHA-256: the session's Durable Object is named by the hash and its R2 keys start with
 * part of the hash, so neither logs nor storage reveal a working URL.
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

/** Constant-time comparison of two token hashes, so timing says nothing about a guess. */
export function sameHash(a: string, b: string): boolean {
  const left = new TextEncoder().encode(a);
  const right = new TextEncoder().encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}

export function sessionStub(env: Env, tokenHash: string): DurableObjectStub<import("./session").UploadSession> {
  return env.UPLOAD_SESSIONS.get(env.UPLOAD_SESSIONS.idFromName(tokenHash));
}
