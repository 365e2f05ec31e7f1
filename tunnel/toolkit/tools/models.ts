// export_model, list_exported_models, download_model.

import { copyFile, mkdir, stat } from "node:fs/promises";
import path from "node:path";

import type { DataLayout } from "../paths.ts";
import { safeName } from "../paths.ts";
import {
  FileAsBase64,
  InBandError,
  isErrno,
  listDir,
  optionalString,
  requireString,
  type ToolHandler,
} from "./common.ts";

/** Extensions the original tries, in its order, after the model name. */
const MODEL_EXTENSIONS = [".safetensors", ".ckpt", ".pt"];

/**
 * The model file in outputs/ for a name, or null. A name that already ends in one of the
 * extensions is also accepted (the original would look for `x.safetensors.safetensors`), since
 * callers often pass the file name that list_exported_models' path shows.
 */
async function findModel(layout: DataLayout, modelName: string): Promise<{ file: string; size: number } | null> {
  if (safeName(modelName) === null) return null;
  const candidates = MODEL_EXTENSIONS.map((ext) => `${modelName}${ext}`);
  if (MODEL_EXTENSIONS.includes(path.extname(modelName))) candidates.push(modelName);
  for (const candidate of candidates) {
    const file = path.join(layout.dir("outputs"), candidate);
    try {
      const info = await stat(file);
      if (info.isFile()) return { file, size: info.size };
    } catch (error) {
      if (!isErrno(error, "ENOENT")) throw error;
    }
  }
  return null;
}

async function isDirectory(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}

const exportModel: ToolHandler = async (args, { layout }) => {
  const modelName = requireString(args, "model_name");
  const outputPath = requireString(args, "output_path");
  const model = await findModel(layout, modelName);
  if (!model) throw new InBandError("Model not found");
  // The original copies wherever it is told. This server keeps every write inside its data
  // folder: `/ai-toolkit/...` paths map into it, relative paths are taken from outputs/.
  let target = layout.resolveUserPath(outputPath, layout.dir("outputs"));
  if (target === null) {
    throw new InBandError(
      `Invalid output path: ${JSON.stringify(outputPath)} is outside ${layout.toVirtual(layout.root)}`,
    );
  }
  // Like shutil.copy2: a folder as the destination receives the file under its own name.
  if (outputPath.endsWith("/") || (await isDirectory(target))) target = path.join(target, path.basename(model.file));
  if (target !== model.file) {
    await mkdir(path.dirname(target), { recursive: true });
    try {
      await copyFile(model.file, target);
    } catch (error) {
      throw new InBandError(`Failed to export model: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { status: "success", path: layout.toVirtual(target) };
};

const listExportedModels: ToolHandler = async (_args, { layout }) => {
  const entries = await listDir(layout.dir("outputs"));
  const models = [];
  // Same order as the original: all .safetensors, then all .ckpt.
  for (const ext of [".safetensors", ".ckpt"]) {
    for (const entry of entries) {
      if (!entry.isFile() || !entry.name.endsWith(ext)) continue;
      const file = path.join(layout.dir("outputs"), entry.name);
      const { size } = await stat(file);
      models.push({ name: entry.name.slice(0, -ext.length), path: layout.toVirtual(file), size });
    }
  }
  return { models };
};

const downloadModel: ToolHandler = async (args, { layout }) => {
  const modelName = requireString(args, "model_name");
  const encoding = optionalString(args, "encoding", "base64");
  const model = await findModel(layout, modelName);
  if (!model) throw new InBandError("Model not found");
  // The original's "raw" puts bytes into JSON, which cannot be encoded; say so instead.
  if (encoding !== "base64")
    throw new InBandError(`Unsupported encoding: ${encoding} (only base64 fits in a JSON answer)`);
  // The whole file in one JSON body held in memory and sent in one write, as the original (json-body.ts).
  return { status: "success", model: modelName, data: new FileAsBase64(model.file, model.size), size: model.size };
};

export const modelTools = {
  export_model: exportModel,
  list_exported_models: listExportedModels,
  download_model: downloadModel,
} satisfies Record<string, ToolHandler>;
