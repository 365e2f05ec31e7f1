/**
 * Writing to R2 in multipart uploads. R2 wants every part but the last the same size (and
 * at least R2_MIN_PART_BYTES), while bytes arrive in chunks of any size: PartWriter regroups
 * them, and every writer of parts in the Worker (model staging, zip entries, tus PATCHes)
 * goes through it. uploadStream builds on it to stream bytes of unknown length into one object.
 */

/** R2's multipart rules: every part but the last at least 5 MiB, and all of those the same size. */
export const R2_MIN_PART_BYTES = 5 * 1024 * 1024;

export const DEFAULT_PART_BYTES = 10 * 1024 * 1024;

/** Sends one full part (or the last one); `bytes` belongs to the callee from then on. */
export type SendPart = (partNumber: number, bytes: Uint8Array) => Promise<void>;

/**
 * Regroups chunks of any size into parts of exactly `partBytes`, handed to `send` in order,
 * numbered from `firstPart`. What does not fill a part waits in `tail` until more bytes come,
 * or until `finish` sends it as the last part; a caller that must stop between requests (tus)
 * keeps the tail elsewhere and starts the next writer with it. Memory stays at one part,
 * plus whatever `send` holds on to; the buffer grows as bytes come, so a small file (most
 * images of a zip) never costs a whole part.
 */
export class PartWriter {
  private part: Uint8Array;
  private filled = 0;
  private next: number;
  private readonly first: number;

  constructor(
    private readonly partBytes: number,
    private readonly send: SendPart,
    options: { firstPart?: number | undefined; tail?: Uint8Array | undefined } = {},
  ) {
    if (partBytes < R2_MIN_PART_BYTES)
      throw new RangeError(`partBytes must be at least ${R2_MIN_PART_BYTES} (R2's minimum part size)`);
    this.first = this.next = options.firstPart ?? 1;
    const tail = options.tail ?? new Uint8Array(0);
    if (tail.byteLength >= partBytes)
      throw new RangeError(`a tail of ${tail.byteLength} bytes would fill a whole part of ${partBytes}`);
    this.part = tail.slice();
    this.filled = tail.byteLength;
  }

  /** Takes the chunk whole, sending each part it completes before taking the rest. */
  async write(chunk: Uint8Array): Promise<void> {
    let rest = chunk;
    while (rest.byteLength > 0) {
      const take = Math.min(this.partBytes - this.filled, rest.byteLength);
      this.reserve(this.filled + take);
      this.part.set(rest.subarray(0, take), this.filled);
      this.filled += take;
      rest = rest.subarray(take);
      if (this.filled === this.partBytes) await this.emit();
    }
  }

  /** The bytes not yet sent, after the last full part: a view, valid until the next write. */
  get tail(): Uint8Array {
    return this.part.subarray(0, this.filled);
  }

  /** Number the next part sent will have. */
  get nextPart(): number {
    return this.next;
  }

  /** Parts this writer has sent so far. */
  get partsSent(): number {
    return this.next - this.first;
  }

  /** Sends the tail as the last part, if there is one. */
  async finish(): Promise<void> {
    if (this.filled > 0) await this.emit();
  }

  /** Grows the buffer to hold `bytes`, doubling (up to one part) so copies stay linear. */
  private reserve(bytes: number): void {
    if (bytes <= this.part.byteLength) return;
    const grown = new Uint8Array(Math.min(this.partBytes, Math.max(bytes, 2 * this.part.byteLength, 64 * 1024)));
    grown.set(this.part.subarray(0, this.filled));
    this.part = grown;
  }

  private async emit(): Promise<void> {
    const bytes = this.part.subarray(0, this.filled);
    // A fresh buffer for the next part: `send` may still be uploading this one.
    this.part = new Uint8Array(this.partBytes);
    this.filled = 0;
    const partNumber = this.next++;
    await this.send(partNumber, bytes);
  }
}

export interface StreamedFile {
  /** Bytes read from the source. */
  size: number;
  /** SHA-256 of those bytes, lowercase hex. */
  sha256: string;
  /** The first part (up to partBytes): enough to read a file header without another R2 read. */
  head: Uint8Array;
}

export interface MultipartOptions {
  partBytes?: number | undefined;
  /**
   * Called once the first part is known (or the whole file, if smaller), before the upload is
   * created: lets the caller name the file after what it is. Returns its key and metadata.
   */
  describe: (head: Uint8Array) => { key: string; options: R2MultipartOptions };
  /** Last chance to refuse the file (e.g. a size mismatch) before it becomes visible. */
  beforeComplete?: (file: StreamedFile) => Promise<void>;
}

/**
 * Streams bytes of unknown length into one R2 object, hashing them on the way. Memory stays
 * bounded by two parts whatever the size of the file: one part uploads while the next fills.
 *
 * All or nothing: the object becomes visible only when `complete()` succeeds, and any
 * failure (the source erroring, a part upload failing, `beforeComplete` refusing) aborts
 * the upload, so no half-written object is ever left in the bucket.
 */
export async function uploadStream(
  bucket: R2Bucket,
  source: ReadableStream<Uint8Array>,
  options: MultipartOptions,
): Promise<StreamedFile & { object: R2Object }> {
  const digest = new crypto.DigestStream("SHA-256");
  const hasher = digest.getWriter();
  // Aborting the hash on failure rejects `digest`; that is expected, not an unhandled error.
  digest.digest.catch(() => {});
  let upload: R2MultipartUpload | undefined;
  let head: Uint8Array | undefined;
  const parts: R2UploadedPart[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  let size = 0;

  const writer = new PartWriter(options.partBytes ?? DEFAULT_PART_BYTES, async (partNumber, bytes) => {
    head ??= bytes;
    if (!upload) {
      const { key, options: objectOptions } = options.describe(head);
      upload = await bucket.createMultipartUpload(key, objectOptions);
    }
    const target = upload;
    // One part uploads while the next one fills; waiting here bounds memory to two parts.
    await inFlight;
    inFlight = target.uploadPart(partNumber, bytes).then((uploaded) => {
      parts[partNumber - 1] = uploaded;
    });
  });
  const reader = source.getReader();

  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) break;
      size += next.value.byteLength;
      await hasher.write(next.value);
      await writer.write(next.value);
    }
    await hasher.close();
    const sha256 = new Uint8Array(await digest.digest).toHex();
    const last = writer.tail;
    const file: StreamedFile = { size, sha256, head: head ?? last };
    await options.beforeComplete?.(file);
    if (!upload) {
      // Smaller than one part (or empty): a multipart upload is not needed at all.
      const { key, options: objectOptions } = options.describe(last);
      const object = await bucket.put(key, last, objectOptions);
      return { ...file, object };
    }
    await writer.finish();
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
