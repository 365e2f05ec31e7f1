import { ToolkitError } from "../errors";
import type { BatchSent, CallOptions, DatasetSummary, OutgoingImage } from "../upstream";
import { mapBounded, UI_FAN_OUT } from "./bounded";
import type { UiClient } from "./client";
import { UI } from "./failures";
import { multipartLength } from "./multipart";
import { captionNameFor, uiCreatedDatasetName, uiDatasetNameSchema, uiStoredName } from "./names";
import { datasetNamePart, imageParts, type UiUploadImage } from "./upload";

/**
 * The Upstream's dataset methods on ai-toolkit's UI: listing with image counts, and sending one
 * planned batch of staged images (raw bytes in a multipart body, captions as `<stem>.txt`).
 */

/** The datasets with their image counts: one listImages call per dataset, a few at a time. */
export async function uiListDatasets(client: UiClient, options?: CallOptions): Promise<DatasetSummary[]> {
  const names = await client.datasets(options);
  const counted = await mapBounded(names, UI_FAN_OUT, async (name): Promise<DatasetSummary | null> => {
    // A folder made by hand can hold a name the Worker never sends (a ':' or a leading '.'):
    // it is listed, uncounted, rather than failing the whole listing.
    if (!uiDatasetNameSchema.safeParse(name).success) {
      return { name, images: 0, note: "not counted: the Worker does not send this folder name to the UI" };
    }
    try {
      return { name, images: (await client.datasetImages(name, options)).images.length };
    } catch (error) {
      // Deleted between the two calls: it is no longer a dataset.
      if (error instanceof ToolkitError && error.kind === "tool" && error.status === 404) return null;
      throw error;
    }
  });
  return counted.filter((summary) => summary !== null);
}

/** The exact bytes one image adds to a batch body: its part and its caption's part. */
export function uiBatchBytes(image: { filename: string; size: number; caption: string }): number {
  const field = datasetNamePart("");
  return multipartLength([field, ...imageParts(asUpload(image))]) - multipartLength([field]);
}

/** The exact bytes of a batch body around its images: the dataset name field and the closing boundary. */
export function uiBatchOverhead(datasetName: string): number {
  return multipartLength([datasetNamePart(datasetName)]);
}

/**
 * Sends one batch into `datasetName`, creating the folder first. Names the UI would change are
 * refused before anything is sent, so the name the user gave is the name on disk (and the
 * training config that points at it finds it).
 */
export async function uiSendBatch(
  client: UiClient,
  datasetName: string,
  images: readonly OutgoingImage[],
  options: CallOptions,
): Promise<BatchSent> {
  if (images.length === 0) throw new RangeError("a batch for ai-toolkit's UI needs at least one image");
  checkFileNames(datasetName, images);
  const small = { ...(options.signal ? { signal: options.signal } : {}) };
  const { DATASETS_FOLDER } = await client.folders(small);
  await ensureDataset(client, datasetName, small);
  await client.uploadDataset(datasetName, images.map(asUpload), options);
  return { saved: images.length, path: joinFolder(DATASETS_FOLDER, datasetName) };
}

/**
 * Creates the folder unless it exists. Listing first also makes DATASETS_FOLDER itself when it
 * is missing (a fresh install), which `create` needs: it makes only the last folder. A name
 * `create` would change is used only for a folder that exists (made by hand): the upload route
 * takes the dataset name unchanged.
 */
async function ensureDataset(client: UiClient, name: string, options: CallOptions): Promise<void> {
  if ((await client.datasets(options)).includes(name)) return;
  const why = datasetNameProblem(name);
  if (why !== undefined) {
    throw new ToolkitError("tool", `refusing the dataset name ${JSON.stringify(name)}: ${why}. Nothing was uploaded`);
  }
  const created = await client.createDataset(name, options);
  if (created !== name) {
    throw new ToolkitError(
      "tool",
      `${UI} created the dataset folder ${JSON.stringify(created)} instead of ${JSON.stringify(name)}: it ` +
        `cleans names differently from what the Worker expects. Nothing was uploaded; use the name ` +
        `${JSON.stringify(created)}`,
    );
  }
}

/** Why the UI would not create a folder of exactly this name, if it would not. */
function datasetNameProblem(name: string): string | undefined {
  const schema = uiDatasetNameSchema.safeParse(name);
  if (!schema.success) return schema.error.issues[0]?.message ?? "it is not a folder name";
  const cleaned = uiCreatedDatasetName(name);
  if (cleaned === name) return undefined;
  return (
    `${UI} would create it as ${JSON.stringify(cleaned)} (lower case, every run of characters other than ` +
    `a-z and 0-9 turned into "_"), so it would not be where you asked; use ${JSON.stringify(cleaned)}`
  );
}

/**
 * Refuses the batch before anything is sent when the UI would store a file under another name
 * than the one given, or two files under one name (case-insensitively: the UI may run on
 * Windows or macOS), or as a hidden file it would not list.
 */
function checkFileNames(datasetName: string, images: readonly OutgoingImage[]): void {
  const schema = uiDatasetNameSchema.safeParse(datasetName);
  if (!schema.success) {
    throw new ToolkitError(
      "tool",
      `refusing the dataset name ${JSON.stringify(datasetName)}: ${schema.error.issues[0]?.message ?? "invalid"}`,
    );
  }
  const taken = new Map<string, string>();
  const refuse = (why: string) => {
    throw new ToolkitError("tool", `refusing to upload to ${UI}: ${why}. Nothing was uploaded`);
  };
  const claim = (stored: string, from: string) => {
    const other = taken.get(stored.toLowerCase());
    if (other !== undefined) refuse(`${from} and ${other} would both be stored as ${stored}: rename one`);
    taken.set(stored.toLowerCase(), from);
  };
  for (const image of images) {
    const name = image.filename;
    const stored = uiStoredName(name);
    if (stored !== name) {
      refuse(
        `the UI would store the file ${JSON.stringify(name)} as ${JSON.stringify(stored)} (it turns every ` +
          `character other than A-Z, a-z, 0-9, "." and "-" into "_"): rename it to ${JSON.stringify(stored)}`,
      );
    }
    if (name.startsWith(".")) refuse(`the file name ${JSON.stringify(name)} is hidden, the UI would not list it`);
    claim(name, JSON.stringify(name));
    claim(captionNameFor(name), `the caption of ${JSON.stringify(name)}`);
  }
}

function asUpload(image: { filename: string; size: number; caption: string }): UiUploadImage {
  const open = "open" in image ? (image as OutgoingImage).open.bind(image) : notOpened;
  // Every image gets its caption file, an empty one included, as on the bridge.
  return { name: image.filename, size: image.size, caption: image.caption, open };
}

function notOpened(): Promise<ReadableStream<Uint8Array>> {
  return Promise.reject(new Error("an image measured for planning is never opened"));
}

/** `<folder>/<name>` with the folder's own separator (the UI may run on Windows). */
export function joinFolder(folder: string, name: string): string {
  const separator = folder.includes("/") || !folder.includes("\\") ? "/" : "\\";
  return `${folder.replace(/[\\/]+$/, "")}${separator}${name}`;
}
