import type { Config } from "../../config";
import type { ToolkitClient } from "../../toolkit/client";
import { ToolkitError } from "../../toolkit/errors";
import type { OperationResult } from "../../toolkit/operations";
import { createUploadDatasetBody, UploadBodyError, type UploadImageSource } from "../codecs";
import { planBatches } from "./batches";
import type { ForwardProgress } from "./types";

/**
 * One batch may be up to UPLOAD_BATCH_MAX_BYTES through a home connection's upload speed, so
 * it gets far longer than an ordinary call: 90 MB at 2 MB/s is 45 s, at 0.5 MB/s three minutes.
 */
export const BATCH_TIMEOUT_MS = 15 * 60_000;

/** How long a failed batch waits for its body to stop, to report a failure of the body itself. */
const PIPE_SETTLE_MS = 1000;

export interface ForwardImage {
  name: string;
  size: number;
  caption: string;
  key: string;
}

export interface ForwardDeps {
  config: Config;
  toolkit: ToolkitClient;
  bucket: R2Bucket;
  datasetName: string;
  /** Images not yet confirmed by the toolkit, in upload order. */
  pending: ForwardImage[];
  /** Images of the whole session, for the final check. */
  expectedImages: number;
  progress: ForwardProgress;
  /** Called after each batch the toolkit confirmed: the session marks those files sent. */
  onBatchSent(images: ForwardImage[], progress: ForwardProgress): void;
}

/**
 * Sends what has not arrived yet, batch by batch, then asks list_datasets whether the toolkit
 * has every image. Each body is a stream: JSON around a streaming base64 encoding of each R2
 * object, opened only when the body reaches it, so memory does not grow with the batch.
 * Throws a ToolkitError (or Error) whose message says what to do; batches already confirmed
 * stay confirmed, so finalize again re-sends only the rest.
 */
export async function forwardPending(deps: ForwardDeps): Promise<ForwardProgress> {
  const { config, toolkit, bucket, datasetName } = deps;
  const sources = deps.pending.map((image) => ({ ...image, filename: image.name }));
  const batches = planBatches(datasetName, sources, config.UPLOAD_BATCH_MAX_BYTES);
  const progress: ForwardProgress = {
    ...deps.progress,
    batchesTotal: deps.progress.batchesDone + batches.length,
    startedAt: deps.progress.startedAt ?? Date.now(),
    error: undefined,
  };
  for (const [index, batch] of batches.entries()) {
    const images: UploadImageSource[] = batch.images.map((image) => ({
      filename: image.name,
      caption: image.caption,
      size: image.size,
      open: () => openStaged(bucket, image.key, image.name),
    }));
    const { body, length } = createUploadDatasetBody(datasetName, images);
    const what = `batch ${index + 1} of ${batches.length} (${batch.images.length} images, ${length} bytes)`;
    const result = await sendBody(toolkit, body, length);
    if (result.images_saved !== batch.images.length) {
      throw new ToolkitError(
        "tool",
        `the toolkit saved only ${result.images_saved} of the ${batch.images.length} images in ${what}: check its disk space and console, then finalize again`,
      );
    }
    progress.toolkitPath = result.path;
    progress.batchesDone += 1;
    progress.filesSent += batch.images.length;
    progress.bytesSent += batch.images.reduce((sum, image) => sum + image.size, 0);
    deps.onBatchSent(batch.images, progress);
  }
  const listed = await toolkit.run("list_datasets");
  const entry = listed.datasets.find((dataset) => dataset.name === datasetName);
  progress.toolkitImages = entry?.images ?? 0;
  if (progress.toolkitImages < deps.expectedImages) {
    throw new ToolkitError(
      "tool",
      `after sending every batch the toolkit lists ${progress.toolkitImages} images in ${datasetName}, expected at least ${deps.expectedImages}: check the toolkit's datasets folder and disk space, then finalize again`,
    );
  }
  progress.finishedAt = Date.now();
  return progress;
}

/**
 * Posts one upload_dataset body. A FixedLengthStream makes workerd send Content-Length
 * instead of chunked encoding (some tunnels and proxies refuse chunked request bodies). If
 * the request fails, aborting the pipe cancels the body, which stops reading R2.
 */
async function sendBody(toolkit: ToolkitClient, body: ReadableStream<Uint8Array>, length: number): Promise<OperationResult<"upload_dataset">> {
  const fixed = new FixedLengthStream(length);
  const abort = new AbortController();
  let bodyError: unknown;
  const piping = body.pipeTo(fixed.writable, { signal: abort.signal }).catch((error: unknown) => {
    bodyError ??= error;
  });
  try {
    const result = await toolkit.runPrepared("upload_dataset", fixed.readable, { contentLength: length, timeoutMs: BATCH_TIMEOUT_MS });
    await piping;
    return result;
  } catch (error) {
    abort.abort(error);
    // The pipe ends once the runtime lets go of the request body; a write it still waits
    // on must not hold up the error.
    await Promise.race([piping, new Promise((resolve) => setTimeout(resolve, PIPE_SETTLE_MS))]);
    // A body that failed on its own (a staged copy missing from R2) says more than the
    // broken request it caused.
    throw bodyError instanceof UploadBodyError || bodyError instanceof StagedCopyMissing ? bodyError : error;
  }
}

class StagedCopyMissing extends Error {}

async function openStaged(bucket: R2Bucket, key: string, name: string): Promise<ReadableStream<Uint8Array>> {
  const object = await bucket.get(key);
  if (!object) throw new StagedCopyMissing(`the staged copy of ${name} is missing from R2 (expired or removed): upload ${name} again, then finalize`);
  return object.body;
}

/**
 * The toolkit's list_datasets counts *.png and *.jpg (the original) or also .jpeg and .webp
 * (newer servers); the check counts only what every version counts.
 */
export function countedByEveryToolkit(name: string): boolean {
  return /\.(png|jpg)$/.test(name);
}
