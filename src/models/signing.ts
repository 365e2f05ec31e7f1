/**
 * Signed download links: `/downloads/<object key>?expires=<unix seconds>&sig=<hex>` where
 * sig = HMAC-SHA256(key, "<object key>\n<expires>"). The link itself is the credential (a
 * browser or curl can fetch it without OAuth), so it is short-lived and bound to one object.
 */

import { workerSecrets } from "./secrets";

const encoder = new TextEncoder();

export const DOWNLOAD_ROUTE = "/downloads/";

export interface SigningSettings {
  DOWNLOAD_SIGNING_KEY?: string | undefined;
}

/**
 * The HMAC key: DOWNLOAD_SIGNING_KEY when set (rotating it revokes every link), otherwise
 * the random secret the Worker made for itself on first use (see secrets.ts).
 */
export async function signingKey(settings: SigningSettings, env: Pick<Env, "WORKER_SECRETS">): Promise<CryptoKey> {
  const secret = settings.DOWNLOAD_SIGNING_KEY ?? (await workerSecrets(env).downloadLinkSecret());
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
}

function payload(objectKey: string, expires: number): Uint8Array {
  return encoder.encode(`${objectKey}\n${expires}`);
}

export async function sign(key: CryptoKey, objectKey: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, payload(objectKey, expires));
  return toHex(new Uint8Array(mac));
}

/** Constant-time check (crypto.subtle.verify), so the signature cannot be guessed byte by byte. */
export async function verify(key: CryptoKey, objectKey: string, expires: number, sig: string): Promise<boolean> {
  const mac = fromHex(sig);
  if (!mac || mac.length !== 32) return false;
  return crypto.subtle.verify("HMAC", key, mac, payload(objectKey, expires));
}

/** The absolute link for an object, valid until `expires` (unix seconds). */
export async function signedUrl(origin: string, key: CryptoKey, objectKey: string, expires: number): Promise<string> {
  const sig = await sign(key, objectKey, expires);
  const path = objectKey.split("/").map(encodeURIComponent).join("/");
  return `${origin}${DOWNLOAD_ROUTE}${path}?expires=${expires}&sig=${sig}`;
}

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

function fromHex(text: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})*$/i.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}
