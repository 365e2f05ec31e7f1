import type { Config } from "../config";
import { signedUrl, signingKey } from "./signing";
import type { StagedModel } from "./staged";

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
