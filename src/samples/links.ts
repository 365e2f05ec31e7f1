/**
 * Signed links to a training job's sample images: `/samples/<job id>/<file name>?expires=<unix s>&sig=<hex>`.
 * They are signed like model downloads (models/links.ts: one key, one HMAC), over
 * "samples/<job id>/<file name>", so a link opens exactly that job's file of that name: another
 * file, another job or a staged model ("models/...") fails the signature. The toolkit's paths
 * and its own file URLs never leave the Worker.
 */

import type { Config } from "../config";
import { signingKey, sign, verify, type DownloadLink } from "../models/links";

export const SAMPLE_ROUTE = "/samples/";

/** The only types the route serves, by the file's extension: images and the trainer's videos. */
const SAMPLE_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  mp4: "video/mp4",
};

/**
 * The Content-Type a sample file is served with, or undefined when the name is not one a link
 * may carry: one plain segment of [A-Za-z0-9._-] (no '/', '\\', '..' or leading dot, so nothing
 * that could name a path) ending in one of SAMPLE_TYPES.
 */
export function sampleContentType(file: string): string | undefined {
  if (file.length > 200 || !/^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(file) || file.includes("..")) return undefined;
  const dot = file.lastIndexOf(".");
  return dot > 0 ? SAMPLE_TYPES[file.slice(dot + 1).toLowerCase()] : undefined;
}

/** What a sample link signs: its own namespace, so it can never pass for a model download (models/...). */
const signedName = (jobId: string, file: string) => `samples/${jobId}/${file}`;

type LinkSettings = Pick<Config, "DOWNLOAD_LINK_TTL_SECONDS" | "DOWNLOAD_SIGNING_KEY">;

/**
 * Signed links to sample files of one job (one link per name, in order), valid for
 * DOWNLOAD_LINK_TTL_SECONDS; relative when `origin` is "". The key is read once for them all.
 */
export async function sampleLinks(
  config: LinkSettings,
  env: Pick<Env, "WORKER_SECRETS">,
  origin: string,
  jobId: string,
  files: readonly string[],
  now: number,
): Promise<DownloadLink[]> {
  const key = await signingKey(config, env);
  const expires = Math.floor(now / 1000) + config.DOWNLOAD_LINK_TTL_SECONDS;
  const expiresAt = new Date(expires * 1000).toISOString();
  return Promise.all(
    files.map(async (file) => {
      const sig = await sign(key, signedName(jobId, file), expires);
      const path = `${SAMPLE_ROUTE}${encodeURIComponent(jobId)}/${encodeURIComponent(file)}`;
      return { url: `${origin}${path}?expires=${expires}&sig=${sig}`, expiresAt };
    }),
  );
}

/** Whether `sig` is the Worker's signature of that job's file until `expires` (checked in constant time). */
export async function sampleLinkValid(
  config: LinkSettings,
  env: Pick<Env, "WORKER_SECRETS">,
  sample: { jobId: string; file: string },
  expires: number,
  sig: string,
): Promise<boolean> {
  return verify(await signingKey(config, env), signedName(sample.jobId, sample.file), expires, sig);
}
