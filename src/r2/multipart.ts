/**
 * Streams bytes of unknown length into one R2 object through a multipart upload, hashing
 * them on the way. Memory stays bounded by two parts whatever the size of the file: R2 wants
 * parts of equal size (at least 5 MiB, except the last), so bytes are gathered into one
 * fixed-size part while the previous part uploads.
 *
 * All or nothing: the object becomes visible only when `complete()` succeeds, and any
 * failure (the source erroring, a part upload failing, `beforeComplete` refusing) aborts
 * the upload, so no half-written object is ever left in the bucket.
 */

import { R2_MIN_PART_BYTES } from "./rules";

export const DEFAULT_PART_BYTES = 10 * 1024 * 1024;

export interface StreamedFile {
  /** Bytes read from the source. */
  size: number;
  /** SHA-256 of those bytes, lowercase hex. */
  sha256: string;
  /** The first part (up to partBytes): enough to read a file header without another R2 read. */
  head: Uint8Array;
}

export interface MultipartOptions {
  partBytes?: number;
  /**
   * Called once the first part is known (or the whole file, if smaller), before the upload is
   * created: lets the caller name the file after what it is. Returns its key and metadata.
   */
  describe: (head: Uint8Array) => { key: string; options: R2MultipartOptions };
  /** Last chance to refuse the file (e.g. a size mismatch) before it becomes visible. */
  beforeComplete?: (file: StreamedFile) => Promise<void>;
}

export async function uploadStream(
  bucket: R2Bucket,
  source: ReadableStream<Uint8Array>,
  options: MultipartOptions,
): Promise<StreamedFile & { object: R2Object }> {
  const partBytes = options.partBytes ?? DEFAULT_PART_BYTES;
  if (partBytes < R2_MIN_PART_BYTES) throw new RangeError(`partBytes must be at least ${R2_MIN_PART_BYTES} (R2's minimum part size)`);

  const digest = new crypto.DigestStream("SHA-256");
  const hasher = digest.getWriter();
  // Aborting the hash on failure rejects `digest`; that is expected, not an unhandled error.
  digest.digest.catch(() => {});
  const reader = source.getReader();
  let upload: R2MultipartUpload | undefined;
  let head: Uint8Array | undefined;
  const parts: R2UploadedPart[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  let part = new Uint8Array(partBytes);
  let filled = 0;
  let size = 0;

  const send = async (bytes: Uint8Array): Promise<void> => {
    if (!head) head = bytes;
    if (!upload) {
      const { key, options: objectOptions } = options.describe(head);
      upload = await bucket.createMultipartUpload(key, objectOptions);
    }
    const target = upload;
    const partNumber = parts.length + 1;
    // Reserve the slot now so part numbers follow the order of the bytes.
    parts.push({ partNumber, etag: "" });
    // One part uploads while the next one fills; waiting here bounds memory to two parts.
    await inFlight;
    inFlight = target.uploadPart(partNumber, bytes).then((uploaded) => {
      parts[partNumber - 1] = uploaded;
    });
  };

  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      let chunk = next.value;
      size += chunk.byteLength;
      await hasher.write(chunk);
      while (chunk.byteLength > 0) {
        const take = Math.min(partBytes - filled, chunk.byteLength);
        part.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === partBytes) {
          await send(part);
          part = new Uint8Array(partBytes);
          filled = 0;
        }
      }
    }
    await hasher.close();
    const sha256 = new Uint8Array(await digest.digest).toHex();
    const last = part.subarray(0, filled);
    const file: StreamedFile = { size, sha256, head: head ?? last };
    await options.beforeComplete?.(file);
    if (!upload) {
      // Smaller than one part (or empty): a multipart upload is not needed at all.
      const { key, options: objectOptions } = options.describe(last);
      const object = await bucket.put(key, last, objectOptions);
      return { ...file, object };
    }
    if (filled > 0) await send(last);
    await inFlight;
    const object = await upload.complete(parts);
    return { ...file, object };
  } catch (error) {
    await hasher.abort(error).catch(() => {});
    await reader.cancel(error).catch(() => {});
    // Wait for a part still uploading before aborting, or it could land after the abort.
    await inFlight.catch(() => {});
    await upload?.abort().catch(() => {});
    throw error;
  }
}
