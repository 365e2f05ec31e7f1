import type { Config } from "../../config";
import type { ToolkitClient } from "../../toolkit/client";
import { unwrapEnvelope } from "../../toolkit/envelope";
import { ToolkitError } from "../../toolkit/errors";
import { operations } from "../../toolkit/operations";
import { createUploadDatasetBody, type UploadImageSource } from "../codecs";
import { planBatches } from "./batches";
import type { ForwardProgress } from "./types";

/**
 * One batch may be up to UPLOAD_BATCH_MAX_BYTES through a home connection's upload speed, so
 * it gets far longer than an ordinary call: 90 MB at 2 MB/s is 45 s, at 0.5 MB/s three minutes.
 */
export const BATCH_TIMEOUT_MS = 15 * 60_000;

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
    // A FixedLengthStream makes workerd send Content-Length instead of chunked encoding:
    // some tunnels and proxies refuse chunked request bodies.
    const fixed = new FixedLengthStream(length);
    const piping = body.pipeTo(fixed.writable).catch(() => {});
    const what = `batch ${index + 1} of ${batches.length} (${batch.images.length} images, ${length} bytes)`;
    let response: Response;
    try {
      response = await toolkit.execute("upload_dataset", fixed.readable, { contentLength: length, timeoutMs: BATCH_TIMEOUT_MS });
    } catch (error) {
      // Stop reading R2 for a body nobody will send.
      await body.cancel(error).catch(() => {});
      throw error;
    }
    await piping;
    const result = operations.upload_dataset.result.safeParse(unwrapEnvelope("upload_dataset", await response.json()));
    if (!result.success) {
      throw new ToolkitError("protocol", `the toolkit's answer to upload_dataset ${what} has an unexpected shape: is it a compatible AI Toolkit server?`);
    }
    if (result.data.images_saved !== batch.images.length) {
      throw new ToolkitError(
        "tool",
        `the toolkit saved only ${result.data.images_saved} of the ${batch.images.length} images in ${what}: check its disk space and console, then finalize again`,
      );
    }
    progress.toolkitPath = result.data.path;
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

async function openStaged(bucket: R2Bucket, key: string, name: string): Promise<ReadableStream<Uint8Array>> {
  const object = await bucket.get(key);
  if (!object) throw new Error(`the staged copy of ${name} is missing from R2 (expired or removed): upload ${name} again, then finalize`);
  return object.body;
}

/**
 * The toolkit's list_datasets counts *.png and *.jpg (the original) or also .jpeg and .webp
 * (newer servers); the check counts only what every version counts.
 */
export function countedByEveryToolkit(name: string): boolean {
  return /\.(png|jpg)$/.test(name);
}
