/**
 * Brings one trained model home: the upstream streams the model's bytes (decoded from the
 * bridge's base64 answer, or raw from the UI's file route) and they are written to R2 part by
 * part, so the file is never held in memory. A model already staged and unchanged on the
 * toolkit is reused instead of crossing the tunnel again.
 */

import type { Config } from "../config";
import type { ListedModel, Upstream } from "../toolkit/upstream";
import { uploadStream } from "../r2/multipart";
import { headerLength, readSafetensorsInfo } from "./safetensors";
import { dropStaged, newFileKey, readStaged, writeManifest, type StagedModel } from "./staged";

export interface StageDeps {
  bucket: R2Bucket;
  upstream: Upstream;
  config: Pick<Config, "MODEL_DOWNLOAD_TIMEOUT_MS" | "STAGED_MODEL_TTL_SECONDS">;
  /** Clock in ms; tests move it. */
  now?: () => number;
  /** R2 part size (tests use R2's 5 MiB minimum to get several parts from small files). */
  partBytes?: number;
}

export interface StageOutcome {
  model: StagedModel;
  /** True when an earlier staged copy was reused and nothing crossed the tunnel. */
  reused: boolean;
}

export async function stageModel(deps: StageDeps, name: string): Promise<StageOutcome> {
  const now = deps.now ?? Date.now;
  const listed = (await deps.upstream.listModels()).find((model) => model.name === name);
  const previous = await readStaged(deps.bucket, name, now());
  if (previous && listed && unchangedOnToolkit(previous, listed)) return { model: previous, reused: true };

  const model = await download(deps, name, listed, now());
  await writeManifest(deps.bucket, model);
  // The replaced copy's links stop working; its file is not needed any more.
  if (previous && previous.key !== model.key) await deleteQuietly(deps.bucket, previous.key);
  return { model, reused: false };
}

async function download(
  deps: StageDeps,
  name: string,
  listed: ListedModel | undefined,
  started: number,
): Promise<StagedModel> {
  const { bucket, upstream, config } = deps;
  const stagedAt = new Date(started).toISOString();
  const expiresAt = new Date(started + config.STAGED_MODEL_TTL_SECONDS * 1000).toISOString();
  const bytes = await upstream.openModel(name, listed, { timeoutMs: config.MODEL_DOWNLOAD_TIMEOUT_MS });
  let filename = bytes.filename ?? `${name}.bin`;
  let key = "";
  const describe = (head: Uint8Array): { key: string; options: R2MultipartOptions } => {
    // A model the listing does not show (e.g. a .pt file) is named after what its bytes are.
    if (bytes.filename === undefined)
      filename = headerLength(head, Number.MAX_SAFE_INTEGER) !== undefined ? `${name}.safetensors` : `${name}.bin`;
    key = newFileKey(name, filename, started);
    return {
      key,
      options: {
        httpMetadata: { contentType: "application/octet-stream", contentDisposition: attachment(filename) },
        // The download route reads these: which file name to offer, and until when to serve it.
        customMetadata: { name, filename, stagedAt, expiresAt },
      },
    };
  };

  const file = await uploadStream(bucket, bytes.body, {
    partBytes: deps.partBytes,
    describe,
    beforeComplete: ({ size }) => bytes.verify(size),
  });
  const safetensors = await readSafetensorsInfo(bucket, key, file.head, file.size);
  return {
    name,
    key,
    filename,
    size: file.size,
    sha256: file.sha256,
    ...(listed?.mtime ? { mtime: listed.mtime } : {}),
    stagedAt,
    expiresAt,
    ...(safetensors ? { safetensors } : {}),
  };
}

/**
 * Whether a staged copy is still the file the toolkit lists: same size, same modification
 * time when the toolkit reports one, and the same file name when the copy records one. (A
 * training run that ends also forgets the copy: see forgetStaged.)
 */
export function unchangedOnToolkit(
  staged: Pick<StagedModel, "size" | "mtime"> & { filename?: string },
  listed: Pick<ListedModel, "size" | "path" | "mtime">,
): boolean {
  const mtime = (listed as { mtime?: unknown }).mtime;
  const listedMtime = typeof mtime === "string" || typeof mtime === "number" ? String(mtime) : undefined;
  return (
    staged.size === listed.size &&
    staged.mtime === listedMtime &&
    (staged.filename === undefined || staged.filename === basename(listed.path))
  );
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || path;
}

export function attachment(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

async function deleteQuietly(bucket: R2Bucket, key: string): Promise<void> {
  await bucket
    .delete(key)
    .catch((error: unknown) => console.warn(`could not delete replaced staged model ${key}`, error));
}

export { dropStaged };
