/**
 * Signed download links: `/downloads/<object key>?expires=<unix seconds>&sig=<hex>` where
 * sig = HMAC-SHA256(key, "<object key>\n<expires>"). The link itself is the credential (a
 * browser or curl can fetch it without OAuth), so it is short-lived and bound to one object.
 * Here: the signing key and where it is kept, signing and checking, and building a link.
 */

import { DurableObject } from "cloudflare:workers";
import type { Config } from "../config";
import type { StagedModel } from "./staged";

const encoder = new TextEncoder();

export const DOWNLOAD_ROUTE = "/downloads/";

/**
 * Secrets the Worker makes for itself. The download-link key is 32 random bytes made on
 * first use and kept here, so links work with no set-up. It is deliberately NOT derived from
 * OWNER_PASSWORD: a link publishes an HMAC next to its inputs, and a key derived from a
 * password would let anyone holding one link test password guesses offline.
 * One instance, so every isolate gets the same key; a Durable Object, so two first uses at
 * once cannot make two keys.
 */
export class WorkerSecrets extends DurableObject {
  async downloadLinkSecret(): Promise<string> {
    let secret = await this.ctx.storage.get<string>("download-links");
    if (!secret) {
      secret = crypto.getRandomValues(new Uint8Array(32)).toHex();
      await this.ctx.storage.put("download-links", secret);
    }
    return secret;
  }
}

function workerSecrets(env: Pick<Env, "WORKER_SECRETS">) {
  return env.WORKER_SECRETS.get(env.WORKER_SECRETS.idFromName("worker"));
}

export interface SigningSettings {
  DOWNLOAD_SIGNING_KEY?: string | undefined;
}

/**
 * The HMAC key: DOWNLOAD_SIGNING_KEY when set (rotating it revokes every link), otherwise
 * the random secret the Worker made for itself on first use (WorkerSecrets above).
 */
export async function signingKey(settings: SigningSettings, env: Pick<Env, "WORKER_SECRETS">): Promise<CryptoKey> {
  const secret = settings.DOWNLOAD_SIGNING_KEY ?? (await workerSecrets(env).downloadLinkSecret());
  return crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

function payload(objectKey: string, expires: number): Uint8Array {
  return encoder.encode(`${objectKey}\n${expires}`);
}

export async function sign(key: CryptoKey, objectKey: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", key, payload(objectKey, expires));
  return new Uint8Array(mac).toHex();
}

/** Constant-time check (crypto.subtle.verify), so the signature cannot be guessed byte by byte. */
export async function verify(key: CryptoKey, objectKey: string, expires: number, sig: string): Promise<boolean> {
  let mac: Uint8Array;
  try {
    mac = Uint8Array.fromHex(sig);
  } catch {
    return false; // not hex at all
  }
  if (mac.length !== 32) return false;
  return crypto.subtle.verify("HMAC", key, mac, payload(objectKey, expires));
}

/** The absolute link for an object, valid until `expires` (unix seconds). */
export async function signedUrl(origin: string, key: CryptoKey, objectKey: string, expires: number): Promise<string> {
  const sig = await sign(key, objectKey, expires);
  const path = objectKey.split("/").map(encodeURIComponent).join("/");
  return `${origin}${DOWNLOAD_ROUTE}${path}?expires=${expires}&sig=${sig}`;
}

export interface DownloadLink {
  url: string;
  /** ISO 8601; never later than the staged copy's own expiry. */
  expiresAt: string;
}

type LinkSettings = Pick<Config, "DOWNLOAD_LINK_TTL_SECONDS" | "DOWNLOAD_SIGNING_KEY">;

/** A signed link to a staged model, valid for DOWNLOAD_LINK_TTL_SECONDS or until the copy expires. */
export async function downloadLink(
  config: LinkSettings,
  env: Pick<Env, "WORKER_SECRETS">,
  origin: string,
  model: Pick<StagedModel, "key" | "expiresAt">,
  now: number,
): Promise<DownloadLink> {
  const stagedUntil = Math.floor(Date.parse(model.expiresAt) / 1000);
  const expires = Math.min(Math.floor(now / 1000) + config.DOWNLOAD_LINK_TTL_SECONDS, stagedUntil);
  const url = await signedUrl(origin, await signingKey(config, env), model.key, expires);
  return { url, expiresAt: new Date(expires * 1000).toISOString() };
}

/**
 * A signed link's expiry and signature as a request carries them, or the answer that refuses it
 * (incomplete, altered or expired), found before its signature is checked or anything is read.
 * `what` names the link ("download", "sample"); `again` says how to get a fresh one.
 */
export function linkTerms(
  url: URL,
  what: string,
  again: string,
  now: number,
): { expires: number; sig: string } | { refused: Response } {
  const expires = Number(url.searchParams.get("expires"));
  const sig = url.searchParams.get("sig") ?? "";
  if (!Number.isSafeInteger(expires) || sig === "")
    return { refused: linkProblem(403, `This ${what} link is incomplete or was altered: ${again}.`) };
  if (expires * 1000 <= now) {
    const when = new Date(expires * 1000).toISOString();
    return { refused: linkProblem(403, `This ${what} link expired at ${when}: ${again}.`) };
  }
  return { expires, sig };
}

/** A plain-text refusal of a link request, never cached and never sniffed as anything else. */
export function linkProblem(status: number, message: string): Response {
  return new Response(`${message}\n`, {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
