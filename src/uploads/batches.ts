import { FILE_NAME_MAX_CHARS } from "../common";
import { uploadBodyLength, type UploadImageInfo } from "../toolkit/bridge/upload-body";

export interface Batch<T extends UploadImageInfo> {
  images: T[];
  /** Exact byte length of this batch's upload_dataset body. */
  bodyBytes: number;
}

/**
 * Splits images into upload_dataset calls whose bodies stay within `maxBodyBytes`, in order,
 * filling each batch before starting the next. An image too big for a batch on its own is a
 * caller error: uploads refuse such files (see largestImageFor), so this never sends one.
 *
 * Linear: a body is its frame (the empty body) plus each image's own bytes, plus one ","
 * between images, so each image is measured once and the batch keeps a running total.
 */
export function planBatches<T extends UploadImageInfo>(
  datasetName: string,
  images: readonly T[],
  maxBodyBytes: number,
): Batch<T>[] {
  const empty = uploadBodyLength(datasetName, []);
  const batches: Batch<T>[] = [];
  let current: T[] = [];
  let currentBytes = empty;
  for (const image of images) {
    const alone = uploadBodyLength(datasetName, [image]);
    const own = alone - empty;
    const bytes = currentBytes + own + (current.length > 0 ? SEPARATOR_BYTES : 0);
    if (bytes <= maxBodyBytes) {
      current.push(image);
      currentBytes = bytes;
      continue;
    }
    if (current.length > 0) batches.push({ images: current, bodyBytes: currentBytes });
    if (alone > maxBodyBytes) {
      throw new RangeError(
        `${image.filename} needs a ${alone}-byte request on its own, over the ${maxBodyBytes}-byte batch ` +
          `limit: raise UPLOAD_BATCH_MAX_BYTES or remove the file`,
      );
    }
    current = [image];
    currentBytes = alone;
  }
  if (current.length > 0) batches.push({ images: current, bodyBytes: currentBytes });
  return batches;
}

/** The "," between two images of one body. */
const SEPARATOR_BYTES = 1;

/**
 * The largest image that still fits one batch with a caption of `captionMaxChars` (escaped
 * JSON can take up to 6 bytes per character) and a long file name.
 */
export function largestImageFor(datasetName: string, maxBodyBytes: number, captionMaxChars: number): number {
  const envelope =
    uploadBodyLength(datasetName, [{ filename: "x".repeat(FILE_NAME_MAX_CHARS), caption: "", size: 0 }]) +
    captionMaxChars * 6;
  const room = maxBodyBytes - envelope;
  return room <= 0 ? 0 : Math.floor(room / 4) * 3;
}
