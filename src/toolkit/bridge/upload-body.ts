// The `upload_dataset` request body, produced as a stream.
//
// The toolkit takes a dataset only as one JSON body with every image inlined as base64:
//
// {"tool":"upload_dataset","arguments":{"dataset_name":N,"images":[{"filename":F,"caption":C,"data":"<base64>"},...]}}
// Images are staged in R2, so the body is assembled on demand: each image is opened only
// when the reader gets to it (never two open at once), encoded slice by slice, and the
// exact length is known before the first byte, for Content-Length and for planning batches.

import { Base64Encoder, base64EncodedLength, encodeInSlices } from "./base64";
import { StreamedBody } from "../streamed-body";

/** What a batch planner knows about an image before opening it. */
export interface UploadImageInfo {
  filename: string;
  caption: string;
  /** Exact byte length of the image; the body length is computed from it. */
  size: number;
}

export interface UploadImageSource extends UploadImageInfo {
  /** Opens the image's bytes. Called only when the body reaches this image. */
  open: () => Promise<ReadableStream<Uint8Array>>;
}

export interface UploadBody {
  body: ReadableStream<Uint8Array>;
  /** Exact byte length of `body`. */
  length: number;
}

const utf8 = new TextEncoder();
const IMAGE_END = utf8.encode('"}');
const BODY_END = utf8.encode("]}}");

interface Framing {
  /** Everything before the first image. */
  head: Uint8Array;
  /** Everything before each image's base64, starting with "," after the first image. */
  imageHeads: Uint8Array[];
  length: number;
}

/**
 * The JSON around the base64 strings. JSON.stringify does the escaping: quotes,
 * backslashes, control characters and lone surrogates are escaped, other text is UTF-8.
 */
function frame(datasetName: string, images: readonly UploadImageInfo[]): Framing {
  const head = utf8.encode(
    `{"tool":"upload_dataset","arguments":{"dataset_name":${JSON.stringify(datasetName)},"images":[`,
  );
  let length = head.length + BODY_END.length;
  const imageHeads = images.map((image, k) => {
    if (!Number.isSafeInteger(image.size) || image.size < 0) {
      throw new RangeError(`${describe(image, k, images.length)} has an invalid size: ${String(image.size)}`);
    }
    const separator = k === 0 ? "" : ",";
    const imageHead = utf8.encode(
      `${separator}{"filename":${JSON.stringify(image.filename)},"caption":${JSON.stringify(image.caption)},"data":"`,
    );
    length += imageHead.length + base64EncodedLength(image.size) + IMAGE_END.length;
    return imageHead;
  });
  return { head, imageHeads, length };
}

/** Exact byte length of the upload_dataset body for these images, without opening any. */
export function uploadBodyLength(datasetName: string, images: readonly UploadImageInfo[]): number {
  return frame(datasetName, images).length;
}

/**
 * Streams the upload_dataset body. The body errors with UploadBodyError if an image
 * yields more or fewer bytes than its `size`, and with the image's own error if opening
 * or reading it fails. Cancelling the body cancels the image being read.
 */
export function createUploadDatasetBody(datasetName: string, images: readonly UploadImageSource[]): UploadBody {
  const framing = frame(datasetName, images);
  const assembly = new StreamedBody();

  async function* produce(): AsyncGenerator<Uint8Array> {
    yield framing.head;
    for (const [k, image] of images.entries()) {
      yield framing.imageHeads[k] ?? new Uint8Array(0);
      const encoder = new Base64Encoder();
      for await (const chunk of assembly.source(() => image.open(), image.size, describe(image, k, images.length))) {
        yield* encodeInSlices(encoder, chunk);
      }
      if (assembly.wasCancelled) return;
      const last = encoder.finish();
      const closing = new Uint8Array(last.length + IMAGE_END.length);
      closing.set(last);
      closing.set(IMAGE_END, last.length);
      yield closing;
    }
    yield BODY_END.slice(); // a fresh copy: a consumer may detach the buffers it is given
  }

  const body = assembly.stream(produce());
  return { body, length: framing.length };
}

function describe(image: UploadImageInfo, index: number, count: number): string {
  return `image ${JSON.stringify(image.filename)} (${index + 1} of ${count})`;
}
