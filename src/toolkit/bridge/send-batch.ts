import { UploadBodyError } from "../errors";
import type { BatchSent, CallOptions, OutgoingImage } from "../upstream";
import type { ToolkitClient } from "./client";
import { createUploadDatasetBody } from "./upload-body";

/** How long a failed batch waits for its body to stop, to report a failure of the body itself. */
const PIPE_SETTLE_MS = 1000;

/**
 * Posts one upload_dataset body: JSON around a streaming base64 encoding of each image, opened
 * only when the body reaches it, so memory does not grow with the batch. A FixedLengthStream
 * makes workerd send Content-Length instead of chunked encoding (some tunnels and proxies refuse
 * chunked request bodies). If the request fails, aborting the pipe cancels the body, which stops
 * reading the images.
 */
export async function sendBridgeBatch(
  client: ToolkitClient,
  datasetName: string,
  images: readonly OutgoingImage[],
  options: CallOptions,
): Promise<BatchSent> {
  const { body, length } = createUploadDatasetBody(datasetName, images);
  const fixed = new FixedLengthStream(length);
  const abort = new AbortController();
  let bodyError: unknown;
  const piping = body.pipeTo(fixed.writable, { signal: abort.signal }).catch((error: unknown) => {
    bodyError ??= error;
  });
  try {
    const result = await client.runPrepared("upload_dataset", fixed.readable, { ...options, contentLength: length });
    await piping;
    return { saved: result.images_saved, path: result.path };
  } catch (error) {
    abort.abort(error);
    // The pipe ends once the runtime lets go of the request body; a write it still waits
    // on must not hold up the error.
    await Promise.race([piping, new Promise((resolve) => setTimeout(resolve, PIPE_SETTLE_MS))]);
    // A body that failed on its own (an image of the wrong size, a staged copy gone) says
    // more than the broken request it caused.
    throw bodyError instanceof UploadBodyError ? bodyError : error;
  }
}
