import { FILE_NAME_MAX_CHARS } from "../common";
import type { Upstream } from "../toolkit/upstream";

/** What a batch planner knows about an image before opening it. */
export interface BatchImage {
  filename: string;
  caption: string;
  /** Exact byte length of the image; the body length is computed from it. */
  size: number;
}

/** How the upstream measures a batch body: its fixed part and each image's share. */
export type BatchMeasure = Pick<Upstream, "batchBytes" | "batchOverhead">;

export interface Batch<T extends BatchImage> {
  images: T[];
  /** Exact byte length of this batch's body. */
  bodyBytes: number;
}

/**
 * Splits images into batches whose bodies stay within `maxBodyBytes`, in order, filling each
 * batch before starting the next. An image too big for a batch on its own is a caller error:
 * uploads refuse such files (see largestImageFor), so this never sends one. Linear: a body is
 * its fixed part plus each image's share, so each image is measured once.
 */
export function planBatches<T extends BatchImage>(
  datasetName: string,
  images: readonly T[],
  maxBodyBytes: number,
  measure: BatchMeasure,
): Batch<T>[] {
  const overhead = measure.batchOverhead(datasetName);
  const batches: Batch<T>[] = [];
  let current: T[] = [];
  let currentBytes = overhead;
  for (const image of images) {
    const own = measure.batchBytes(image);
    if (currentBytes + own <= maxBodyBytes) {
      current.push(image);
      currentBytes += own;
      continue;
    }
    if (current.length > 0) batches.push({ images: current, bodyBytes: currentBytes });
    if (overhead + own > maxBodyBytes) {
      throw new RangeError(
        `${image.filename} needs a ${overhead + own}-byte request on its own, over the ${maxBodyBytes}-byte ` +
          `batch limit: raise UPLOAD_BATCH_MAX_BYTES or remove the file`,
      );
    }
    current = [image];
    currentBytes = overhead + own;
  }
  if (current.length > 0) batches.push({ images: current, bodyBytes: currentBytes });
  return batches;
}

/**
 * The largest image that still fits one batch with the longest file name and a caption of
 * `captionMaxChars` in its costliest form (escaped control characters in JSON, three-byte
 * characters in UTF-8). Found by bisection: an image's share only grows with its size.
 */
export function largestImageFor(
  datasetName: string,
  maxBodyBytes: number,
  captionMaxChars: number,
  measure: BatchMeasure,
): number {
  const filename = "x".repeat(FILE_NAME_MAX_CHARS);
  const captions = ["\u0001".repeat(captionMaxChars), "\u0800".repeat(captionMaxChars)];
  const fits = (size: number) =>
    captions.every(
      (caption) => measure.batchOverhead(datasetName) + measure.batchBytes({ filename, caption, size }) <= maxBodyBytes,
    );
  if (!fits(0)) return 0;
  let low = 0;
  let high = maxBodyBytes;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}
