import type { Config } from "../config";
import type { ToolkitClient } from "../toolkit/bridge/client";
import { ToolkitError } from "../toolkit/errors";
import type { OperationResult } from "../toolkit/bridge/operations";
import { createUploadDatasetBody, UploadBodyError, type UploadImageSource } from "../toolkit/bridge/upload-body";
import { planBatches } from "./batches";
import type { ForwardProgress } from "./types";

/**
 * The slowest a batch body may cross to the toolkit (the home connection's download speed),
 * in bytes per second: 250 kB/s is 2 Mbit/s.
 */
export const BATCH_MIN_BYTES_PER_SECOND = 250_000;

/**
 * The one place a batch's time-out comes from: the per-call TOOLKIT_TIMEOUT_MS for the
 * toolkit to answer, plus one second per BATCH_MIN_BYTES_PER_SECOND of body to carry it
 * there. With the defaults a full 90 MB batch gets 390 s; upload_dataset's inline images (one
 * MCP request, under 4 MiB) under 50 s, so the tool answers before an MCP client gives up.
 */
export function batchTimeoutMs(config: Pick<Config, "TOOLKIT_TIMEOUT_MS">, bodyBytes: number): number {
  return config.TOOLKIT_TIMEOUT_MS + Math.ceil(bodyBytes / BATCH_MIN_BYTES_PER_SECOND) * 1000;
}

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
}

/** What one step of forwarding did: sent one batch (more may follow), or found every image there. */
export type ForwardStep = { kind: "batch"; sent: ForwardImage[]; progress: ForwardProgress } | { kind: "complete"; progress: ForwardProgress };

/**
 * Takes one step towards the toolkit having the dataset: sends the first batch of what has
 * not arrived yet or, when everything has, asks list_datasets whether the toolkit has every
 * image. One batch per step keeps each alarm invocation within its limits; the caller
 * records the batch as sent before the next step. Each body is a stream: JSON around a
 * streaming base64 encoding of each R2 object, opened only when the body reaches it, so
 * memory does not grow with the batch. Throws a ToolkitError (or Error) whose message says
 * what to do; batches already confirmed stay confirmed, so finalize again re-sends only the rest.
 */
export async function forwardNext(deps: ForwardDeps): Promise<ForwardStep> {
  const { config, toolkit, bucket, datasetName } = deps;
  const sources = deps.pending.map((image) => ({ ...image, filename: image.name }));
  const batches = planBatches(datasetName, sources, config.UPLOAD_BATCH_MAX_BYTES);
  const progress: ForwardProgress = {
    ...deps.progress,
    batchesTotal: deps.progress.batchesDone + batches.length,
    startedAt: deps.progress.startedAt ?? Date.now(),
    error: undefined,
    errorKind: undefined,
  };
  const batch = batches[0];
  if (!batch) return { kind: "complete", progress: await checkArrived(toolkit, datasetName, deps.expectedImages, progress) };
  const images: UploadImageSource[] = batch.images.map((image) => ({
    filename: image.name,
    caption: image.caption,
    size: image.size,
    open: () => openStaged(bucket, image.key, image.name),
  }));
  const { body, length } = createUploadDatasetBody(datasetName, images);
  const what = `batch ${progress.batchesDone + 1} of ${progress.batchesTotal} (${batch.images.length} images, ${length} bytes)`;
  const result = await sendBody(toolkit, body, length, batchTimeoutMs(config, length));
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
  return { kind: "batch", sent: batch.images, progress };
}

async function checkArrived(toolkit: ToolkitClient, datasetName: string, expectedImages: number, progress: ForwardProgress): Promise<ForwardProgress> {
  const listed = await toolkit.run("list_datasets");
  const entry = listed.datasets.find((dataset) => dataset.name === datasetName);
  const toolkitImages = entry?.images ?? 0;
  if (toolkitImages < expectedImages) {
    throw new ToolkitError(
      "tool",
      `after sending every batch the toolkit lists ${toolkitImages} images in ${datasetName}, expected at least ${expectedImages}: check the toolkit's datasets folder and disk space, then finalize again`,
    );
  }
  return { ...progress, toolkitImages, finishedAt: Date.now() };
}

/**
 * Posts one upload_dataset body. A FixedLengthStream makes workerd send Content-Length
 * instead of chunked encoding (some tunnels and proxies refuse chunked request bodies). If
 * the request fails, aborting the pipe cancels the body, which stops reading R2.
 */
async function sendBody(toolkit: ToolkitClient, body: ReadableStream<Uint8Array>, length: number, timeoutMs: number): Promise<OperationResult<"upload_dataset">> {
  const fixed = new FixedLengthStream(length);
  const abort = new AbortController();
  let bodyError: unknown;
  const piping = body.pipeTo(fixed.writable, { signal: abort.signal }).catch((error: unknown) => {
    bodyError ??= error;
  });
  try {
    const result = await toolkit.runPrepared("upload_dataset", fixed.readable, { contentLength: length, timeoutMs });
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
