/**
 * Signed download links: `/downloads/<object key>?expires=<unix seconds>&sig=<hex>` where
 * sig = HMAC-SHA256(key, "<object key>\n<expires>"). The link itself is the credential (a
 * browser or curl can fetch it without OAuth), so it is short-lived and bound to one object.
 */

const encoder = new TextEncoder();

/** Fixed, public HKDF inputs: they only separate this use of OWNER_PASSWORD from any other. */
const HKDF_SALT = encoder.encode("ai-toolkit-edge-mcp/download-links");
const HKDF_INFO = encoder.encode("hmac-sha256 v1");

export const DOWNLOAD_ROUTE = "/downloads/";

export class SigningKeyMissing extends Error {
  override name = "SigningKeyMissing";
  constructor() {
    super(
      "download links cannot be signed: set DOWNLOAD_SIGNING_KEY (a long random secret, `npx wrangler secret put DOWNLOAD_SIGNING_KEY`) or OWNER_PASSWORD",
    );
  }
}

export interface SigningSettings {
  DOWNLOAD_SIGNING_KEY?: string | undefined;
  OWNER_PASSWORD?: string | undefined;
}

/**
 * The HMAC key. DOWNLOAD_SIGNING_KEY when set; otherwise one derived deterministically from
 * OWNER_PASSWORD with HKDF, so links work with no extra set-up and every isolate agrees on
 * it. Deriving (rather than using the password directly) means a leaked link never helps
 * anyone guess the password, and changing the password revokes every outstanding link.
 */
export async function signingKey(settings: SigningSettings): Promise<CryptoKey> {
  const hmac = { name: "HMAC", hash: "SHA-256" } as const;
  if (settings.DOWNLOAD_SIGNING_KEY) {
    return crypto.subtle.importKey("raw", encoder.encode(settings.DOWNLOAD_SIGNING_KEY), hmac, false, ["sign", "verify"]);
  }
  if (!settings.OWNER_PASSWORD) throw new SigningKeyMissing();
  const material = await crypto.subtle.importKey("raw", encoder.encode(settings.OWNER_PASSWORD), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: HKDF_INFO },
    material,
    { ...hmac, length: 256 },
    false,
    ["sign", "verify"],
  );
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
