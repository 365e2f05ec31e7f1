/**
 * Brings one trained model home: the toolkit's download_model answer (the whole file as
 * base64 inside one JSON body) is parsed and decoded as it streams in, and written to R2
 * part by part, so neither the answer nor the file is ever held in memory. A model already
 * staged and unchanged on the toolkit is reused instead of crossing the tunnel again.
 */

import type { Config } from "../config";
import type { ToolkitClient } from "../toolkit/bridge/client";
import { unwrapEnvelope } from "../toolkit/bridge/operations";
import { ToolkitError } from "../toolkit/errors";
import { Base64Error } from "../toolkit/bridge/base64";
import { extractBase64Field } from "../toolkit/bridge/download-extract";
import { JsonStreamError } from "../toolkit/bridge/json-stream";
import { uploadStream } from "../r2/multipart";
import { headerLength, readSafetensorsInfo } from "./safetensors";
import { dropStaged, newFileKey, readStaged, writeManifest, type StagedModel } from "./staged";

export interface StageDeps {
  bucket: R2Bucket;
  toolkit: ToolkitClient;
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

/** What list_exported_models says about a model; the toolkit reports no mtime today, but may. */
interface ListedModel {
  name: string;
  path: string;
  size: number;
  mtime?: string;
}

const RETRY_HINT = "nothing was staged; check the toolkit's console and call download_model again";

export async function stageModel(deps: StageDeps, name: string): Promise<StageOutcome> {
  const now = deps.now ?? Date.now;
  const listed = await findListed(deps.toolkit, name);
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
  const { bucket, toolkit, config } = deps;
  const stagedAt = new Date(started).toISOString();
  const expiresAt = new Date(started + config.STAGED_MODEL_TTL_SECONDS * 1000).toISOString();
  // The toolkit cannot send raw bytes in JSON: the Worker always asks for base64 and decodes it.
  const request = JSON.stringify({ tool: "download_model", arguments: { model_name: name, encoding: "base64" } });
  const response = await toolkit.execute("download_model", request, { timeoutMs: config.MODEL_DOWNLOAD_TIMEOUT_MS });
  if (!response.body)
    throw new ToolkitError("protocol", `the toolkit answered download_model with an empty body: ${RETRY_HINT}`);

  const { data, envelope } = extractBase64Field(response.body, ["result", "data"]);
  let filename = listed ? basename(listed.path) : `${name}.bin`;
  let key = "";
  const describe = (head: Uint8Array): { key: string; options: R2MultipartOptions } => {
    // A model the listing does not show (e.g. a .pt file) is named after what its bytes are.
    if (!listed)
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

  try {
    const file = await uploadStream(bucket, data, {
      partBytes: deps.partBytes,
      describe,
      beforeComplete: async ({ size }) => {
        const result = unwrapEnvelope("download_model", await envelope);
        const reported =
          typeof result === "object" && result !== null ? (result as Record<string, unknown>).size : undefined;
        if (typeof reported !== "number") {
          throw new ToolkitError(
            "protocol",
            `the toolkit's download_model answer has no numeric result.size: ${RETRY_HINT}`,
          );
        }
        if (reported !== size) {
          throw new ToolkitError(
            "protocol",
            `the toolkit reported ${reported} bytes for "${name}" but sent ${size}: the file may have ` +
              `changed during the download; ${RETRY_HINT}`,
          );
        }
      },
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
  } catch (error) {
    throw explain(error, name);
  }
}

/** Turns parser and decoder failures into the toolkit errors tools already know how to show. */
function explain(error: unknown, name: string): unknown {
  if (error instanceof JsonStreamError) {
    return new ToolkitError(
      "protocol",
      `the toolkit's answer to download_model for "${name}" was cut off or is not its JSON envelope ` +
        `(${error.message}): ${RETRY_HINT}`,
    );
  }
  if (error instanceof Base64Error) {
    return new ToolkitError(
      "protocol",
      `the model data the toolkit sent for "${name}" is not valid base64 (${error.message}): ${RETRY_HINT}`,
    );
  }
  return error;
}

async function findListed(toolkit: ToolkitClient, name: string): Promise<ListedModel | undefined> {
  const { models } = await toolkit.run("list_exported_models");
  const entry = models.find((m) => m.name === name);
  if (!entry) return undefined;
  const mtime = (entry as Record<string, unknown>).mtime;
  return {
    name: entry.name,
    path: entry.path,
    size: entry.size,
    ...(typeof mtime === "string" || typeof mtime === "number" ? { mtime: String(mtime) } : {}),
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
