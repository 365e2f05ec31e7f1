import { UploadBodyError } from "../errors";
import { ToolkitError } from "../errors";
import { UI, type UiContext } from "./failures";
import { callUi, type UiCallOptions } from "./http";
import {
  createMultipartBody,
  multipartLength,
  type MultipartBytes,
  type MultipartField,
  type MultipartPart,
  type MultipartStream,
} from "./multipart";
import { captionNameFor, checked, uiDatasetNameSchema, uiStoredName } from "./names";
import { uiUploadedSchema } from "./schemas";

/**
 * `POST /api/datasets/upload`: images (and their captions as `.txt` files) into one dataset
 * folder of the UI, in one streamed multipart request with an exact Content-Length. The UI
 * holds the whole request in memory, and Cloudflare refuses request bodies over 100 MB on a
 * tunnel hostname: callers send big datasets in batches (datasetUploadLength plans them).
 */

export interface UiUploadImage {
  /** The file name; it is sent as the UI stores it ([A-Za-z0-9.-], anything else "_"). */
  name: string;
  /** Exact byte length of what `open` yields. */
  size: number;
  /** Opens the image's bytes (an R2 object's body); called when the request reaches it. */
  open: () => Promise<ReadableStream<Uint8Array>>;
  /** Sent as `<stem>.txt` right after the image; undefined sends no caption file. */
  caption?: string | undefined;
}

export interface UiUploadResult {
  /** The names the UI stored, in the order sent (each image, then its caption). */
  files: string[];
}

/** One upload can take minutes through a home connection; the UI answers only once it has every byte. */
export const UPLOAD_TIMEOUT_MS = 15 * 60_000;

/** How long a failed upload waits for its body to stop, to report a failure of the body itself. */
const PIPE_SETTLE_MS = 1000;

/**
 * The parts of one upload request and the names the UI will store, checked: no empty or hidden
 * name, and no two alike (case-insensitively: the UI may run on Windows or macOS).
 */
export function datasetUploadParts(
  datasetName: string,
  images: readonly UiUploadImage[],
): { parts: MultipartPart[]; names: string[] } {
  checked(uiDatasetNameSchema, "the dataset name", datasetName);
  if (images.length === 0) throw new RangeError("an upload to ai-toolkit's UI needs at least one image");
  const parts: MultipartPart[] = [datasetNamePart(datasetName)];
  const names: string[] = [];
  const taken = new Map<string, string>();
  const claim = (stored: string, from: string) => {
    if (stored === "" || stored.startsWith("."))
      throw new RangeError(
        `the file name ${JSON.stringify(from)} becomes ${JSON.stringify(stored)} on the UI, which it would ` +
          `not list: rename it`,
      );
    const other = taken.get(stored.toLowerCase());
    if (other !== undefined)
      throw new RangeError(
        `${JSON.stringify(from)} and ${JSON.stringify(other)} would both be stored as ${stored} on the UI: rename one`,
      );
    taken.set(stored.toLowerCase(), from);
    names.push(stored);
  };
  for (const image of images) {
    const [file, caption] = imageParts(image);
    claim(file.filename, image.name);
    parts.push(file);
    if (caption) {
      claim(caption.filename, `the caption of ${image.name}`);
      parts.push(caption);
    }
  }
  return { parts, names };
}

/** The form field naming the dataset: the first part of every upload. */
export function datasetNamePart(datasetName: string): MultipartField {
  return { name: "datasetName", value: datasetName };
}

/**
 * One image's parts, under the names the UI stores: the image, then its caption as `<stem>.txt`
 * when it has one. The only definition of them, so a batch planner's byte count (multipartLength
 * of these) is the body's.
 */
export function imageParts(image: UiUploadImage): [MultipartStream] | [MultipartStream, MultipartBytes] {
  const stored = uiStoredName(image.name);
  const file: MultipartStream = { name: "files", filename: stored, size: image.size, open: image.open };
  if (image.caption === undefined) return [file];
  return [
    file,
    {
      name: "files",
      filename: captionNameFor(stored),
      contentType: "text/plain; charset=utf-8",
      data: new TextEncoder().encode(image.caption),
    },
  ];
}

/** Exact byte length of the request for these images, without opening any (for planning batches). */
export function datasetUploadLength(datasetName: string, images: readonly UiUploadImage[]): number {
  return multipartLength(datasetUploadParts(datasetName, images).parts);
}

export async function uploadToUi(
  ctx: UiContext,
  datasetName: string,
  images: readonly UiUploadImage[],
  options: UiCallOptions = {},
): Promise<UiUploadResult> {
  const { parts, names } = datasetUploadParts(datasetName, images);
  const { body, length, contentType } = createMultipartBody(parts);
  // A FixedLengthStream makes workerd send Content-Length instead of chunked encoding. If the
  // request fails, aborting the pipe cancels the body, which stops reading R2.
  const fixed = new FixedLengthStream(length);
  const abort = new AbortController();
  let bodyError: unknown;
  const piping = body.pipeTo(fixed.writable, { signal: abort.signal }).catch((error: unknown) => {
    bodyError ??= error;
  });
  let answer: { files: string[] };
  try {
    answer = await callUi(
      ctx,
      {
        method: "POST",
        path: "/api/datasets/upload",
        action: `store ${names.length} files in the dataset ${datasetName}`,
        body: fixed.readable,
        headers: { "Content-Type": contentType, "Content-Length": String(length) },
        reads: false,
      },
      uiUploadedSchema,
      { ...options, timeoutMs: options.timeoutMs ?? UPLOAD_TIMEOUT_MS },
    );
    await piping;
  } catch (error) {
    abort.abort(error);
    // The pipe ends once the runtime lets go of the request body; a write it still waits on
    // must not hold up the error.
    await Promise.race([piping, new Promise((resolve) => setTimeout(resolve, PIPE_SETTLE_MS))]);
    // A body that failed on its own (a staged copy missing or changed) says more than the broken request it caused.
    throw bodyError instanceof UploadBodyError ? bodyError : error;
  }
  const missing = names.filter((name) => !answer.files.includes(name));
  if (missing.length > 0 || answer.files.length !== names.length) {
    throw new ToolkitError(
      "tool",
      `${UI} stored ${answer.files.length} of the ${names.length} files sent to ` +
        `${datasetName}` +
        `${missing.length > 0 ? ` (missing: ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ", ..." : ""})` : ""}: ` +
        `check the UI's disk space and console, then upload again`,
    );
  }
  return { files: answer.files };
}
