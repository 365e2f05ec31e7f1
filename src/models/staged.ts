/**
 * What is staged in R2, and for how long. Each staged model is two objects:
 *  - the file, at `models/<name>/<id>/<filename>` (a fresh id per staging, so a link never
 *    serves a different file than the one it was made for);
 *  - its manifest, at `manifests/<name>.json`, written only once the file is complete and
 *    verified: a model counts as staged exactly when its manifest exists.
 * Expiry is checked on every use and expired objects are deleted then ("lazily"); an R2
 * lifecycle rule on the bucket is the backstop for models nobody asks about again (README.md).
 */

import type { SafetensorsInfo } from "./safetensors";

const MANIFEST_PREFIX = "manifests/";

export interface StagedModel {
  name: string;
  /** The file's R2 key: the signed link points here. */
  key: string;
  filename: string;
  size: number;
  sha256: string;
  /** The toolkit's modification time of the file, when it reports one (ISO 8601). */
  mtime?: string | undefined;
  stagedAt: string;
  expiresAt: string;
  safetensors?: SafetensorsInfo;
}

export function manifestKey(name: string): string {
  return `${MANIFEST_PREFIX}${name}.json`;
}

export function newFileKey(name: string, filename: string, now: number): string {
  const id = `${now.toString(36)}-${crypto.randomUUID().slice(0, 8)}`;
  return `models/${name}/${id}/${filename}`;
}

/** The small, flat facts kept as customMetadata on the file and manifest (R2 lists them cheaply). */
export function stagedMetadata(
  model: Omit<StagedModel, "safetensors" | "sha256"> & { sha256?: string },
): Record<string, string> {
  const meta: Record<string, string> = {
    name: model.name,
    key: model.key,
    filename: model.filename,
    size: String(model.size),
    stagedAt: model.stagedAt,
    expiresAt: model.expiresAt,
  };
  if (model.sha256) meta.sha256 = model.sha256;
  if (model.mtime) meta.mtime = model.mtime;
  return meta;
}

export function isExpired(expiresAt: string | undefined, now: number): boolean {
  const at = expiresAt ? Date.parse(expiresAt) : NaN;
  // A missing or unreadable expiry is treated as expired: better to stage again than to serve forever.
  return !(at > now);
}

export async function writeManifest(bucket: R2Bucket, model: StagedModel): Promise<void> {
  await bucket.put(manifestKey(model.name), JSON.stringify(model), {
    httpMetadata: { contentType: "application/json" },
    customMetadata: stagedMetadata(model),
  });
}

/** The staged copy of a model, or undefined (never staged, or expired: then it is deleted). */
export async function readStaged(bucket: R2Bucket, name: string, now: number): Promise<StagedModel | undefined> {
  const object = await bucket.get(manifestKey(name));
  if (!object) return undefined;
  let model: StagedModel;
  try {
    model = await object.json<StagedModel>();
  } catch {
    await bucket.delete(manifestKey(name));
    return undefined;
  }
  if (isExpired(model.expiresAt, now)) {
    await dropStaged(bucket, model);
    return undefined;
  }
  return model;
}

/**
 * Forgets the staged copies of these models, if any. A training run that ends may have
 * rewritten outputs/<name>.safetensors with a file of the same size, and the toolkit reports
 * no modification time, so the copy can no longer be trusted to be the current file.
 */
export async function forgetStaged(bucket: R2Bucket, names: readonly string[]): Promise<void> {
  for (const name of new Set(names)) {
    const object = await bucket.get(manifestKey(name));
    if (!object) continue;
    const model = await object.json<StagedModel>().catch(() => undefined);
    if (model) await dropStaged(bucket, model);
    else await bucket.delete(manifestKey(name));
  }
}

export async function dropStaged(bucket: R2Bucket, model: Pick<StagedModel, "name" | "key">): Promise<void> {
  await bucket.delete([model.key, manifestKey(model.name)]);
}

export interface StagedSummary {
  key: string;
  size: number;
  sha256?: string | undefined;
  mtime?: string | undefined;
  expiresAt: string;
}

/** Every live staged model by name, from one listing; expired ones found on the way are deleted. */
export async function listStaged(bucket: R2Bucket, now: number): Promise<Map<string, StagedSummary>> {
  const staged = new Map<string, StagedSummary>();
  const expired: string[] = [];
  let cursor: string | undefined;
  do {
    // Without `include` the listing would carry no customMetadata.
    const page = await bucket.list({
      prefix: MANIFEST_PREFIX,
      ...(cursor === undefined ? {} : { cursor }),
      include: ["customMetadata"],
    });
    for (const object of page.objects) {
      const meta = object.customMetadata ?? {};
      if (!meta.name || !meta.key || isExpired(meta.expiresAt, now)) {
        expired.push(object.key);
        if (meta.key) expired.push(meta.key);
        continue;
      }
      staged.set(meta.name, {
        key: meta.key,
        size: Number(meta.size),
        sha256: meta.sha256,
        mtime: meta.mtime,
        expiresAt: meta.expiresAt ?? "",
      });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  // R2 deletes at most 1000 keys per call.
  for (let i = 0; i < expired.length; i += 1000) await bucket.delete(expired.slice(i, i + 1000));
  return staged;
}
