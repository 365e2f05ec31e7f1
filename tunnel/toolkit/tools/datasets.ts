// upload_dataset, list_datasets.

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

import { safeFileName, safeName } from "../paths.ts";
import { InBandError, listDir, requireString, type ToolHandler } from "./common.ts";

/**
 * Python's `base64.b64decode` (non-validating), which the original uses: characters outside the
 * base64 alphabet are discarded, then the rest must be correctly padded, otherwise it raises and
 * the image is skipped. Node's decoder would instead decode garbage silently, so check first.
 */
export function decodeBase64Like(text: string): Buffer | null {
  const cleaned = text.replace(/[^A-Za-z0-9+/=]/g, "");
  if (cleaned.length % 4 !== 0) return null;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(cleaned)) return null;
  return Buffer.from(cleaned, "base64");
}

/** `Path(name).with_suffix(".txt")`: the caption sits beside the image under the image's stem. */
function captionName(filename: string): string {
  const ext = path.extname(filename);
  return `${ext === "" ? filename : filename.slice(0, -ext.length)}.txt`;
}

function field(image: unknown, key: string): unknown {
  return image !== null && typeof image === "object" ? (image as Record<string, unknown>)[key] : undefined;
}

const uploadDataset: ToolHandler = async (args, { layout }) => {
  const datasetName = requireString(args, "dataset_name");
  if (safeName(datasetName) === null) {
    throw new InBandError(`Invalid dataset name: ${JSON.stringify(datasetName)} (no path separators or '..')`);
  }
  const images = args.images;
  if (!Array.isArray(images)) throw new InBandError("Missing required field: images");

  const dir = layout.datasetDir(datasetName);
  await mkdir(dir, { recursive: true });
  let saved = 0;
  for (const image of images) {
    // Any problem with one image skips it without a word, as in the original; only the count
    // of saved images tells the caller.
    const rawName = field(image, "filename");
    const data = field(image, "data");
    const caption = field(image, "caption");
    if (typeof rawName !== "string" || typeof data !== "string" || typeof caption !== "string") continue;
    // The original writes `../../x.png` outside the dataset folder; here it becomes `x.png`
    // inside it (see paths.ts).
    const filename = safeFileName(rawName);
    if (filename === null) continue;
    const bytes = decodeBase64Like(data);
    if (bytes === null) continue;
    try {
      await writeFile(path.join(dir, filename), bytes);
      await writeFile(path.join(dir, captionName(filename)), caption, "utf8");
      saved++;
    } catch {
      continue;
    }
  }
  return { status: "success", dataset: datasetName, images_saved: saved, path: layout.toVirtual(dir) };
};

// The original counts *.png and *.jpg only (case-sensitive, as Python's glob on Linux). This
// server also counts .jpeg and .webp, which ai-toolkit trains on just as well; a dataset of
// only those would otherwise be reported as empty.
const IMAGE_FILE = /\.(png|jpg|jpeg|webp)$/;

const listDatasets: ToolHandler = async (_args, { layout }) => {
  const datasets = [];
  for (const entry of await listDir(layout.dir("datasets"))) {
    if (!entry.isDirectory()) continue;
    const files = await listDir(layout.datasetDir(entry.name));
    const images = files.filter((f) => f.isFile() && IMAGE_FILE.test(f.name)).length;
    datasets.push({ name: entry.name, images });
  }
  return { datasets };
};

export const datasetTools = {
  upload_dataset: uploadDataset,
  list_datasets: listDatasets,
} satisfies Record<string, ToolHandler>;
