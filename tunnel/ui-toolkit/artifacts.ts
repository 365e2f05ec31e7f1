// What the simulated trainer leaves in its save folder, named and laid out as ai-toolkit does:
//
//   <name>_<step:09d>.safetensors   a checkpoint (metadata `training_info` = {"step", "epoch"})
//   <name>.safetensors              the final model
//   optimizer.pt                    rewritten at every save (an empty zip archive, as torch.save
//                                   writes zips; nothing here pretends to load it)
//   samples/<ms>__<step:09d>_<i>.jpg   a sample, written into samples/.tmp and moved into place
//   samples/.thumbs/<file>.jpg      its 300×300 thumbnail, moved in before the sample appears
//
// Checkpoints are real safetensors files (tunnel/toolkit/safetensors.ts) holding a small
// LoRA-shaped tensor set; the resume logic reads their metadata back like ai-toolkit does.

import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";

import { writeSafetensors, type TensorSpec } from "../toolkit/safetensors.ts";
import { gradientJpeg, type Rgb } from "./jpeg.ts";

export const pad9 = (step: number): string => String(step).padStart(9, "0");

export interface CheckpointInfo {
  name: string;
  step: number;
  epoch: number;
  rank: number;
  alpha: number;
  baseModel: string;
  arch: string;
}

function loraTensors(rank: number, seed: number): TensorSpec[] {
  const modules = [
    "transformer.single_transformer_blocks.0.attn.to_q",
    "transformer.single_transformer_blocks.0.attn.to_k",
  ];
  return modules.flatMap((module) => [
    { name: `${module}.lora_A.weight`, shape: [rank, 64], value: (i: number) => Math.sin(i + seed) * 0.02 },
    {
      name: `${module}.lora_B.weight`,
      shape: [64, rank],
      value: (i: number) => Math.cos(i + seed) * 0.001 * (1 + seed / 1000),
    },
  ]);
}

/** Writes a checkpoint or the final model (atomically) and returns its size in bytes. */
export function writeCheckpoint(file: string, info: CheckpointInfo): number {
  mkdirSync(path.dirname(file), { recursive: true });
  return writeSafetensors(file, {
    metadata: {
      format: "pt",
      name: info.name,
      version: "1.0",
      ss_output_name: info.name,
      ss_base_model_version: info.arch,
      ss_network_dim: String(info.rank),
      ss_network_alpha: String(info.alpha),
      base_model: info.baseModel,
      training_info: JSON.stringify({ step: info.step, epoch: info.epoch }),
      software: JSON.stringify({
        name: "ai-toolkit",
        repo: "https://github.com/ostris/ai-toolkit",
        version: "0.12.26",
      }),
    },
    tensors: loraTensors(info.rank, info.step),
  });
}

/** The `training_info.step` recorded in a safetensors file's metadata, or null. */
export function readTrainingStep(file: string): number | null {
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const prefix = Buffer.alloc(8);
    readSync(fd, prefix, 0, 8, 0);
    const length = Number(prefix.readBigUInt64LE());
    if (length <= 0 || length > 100 * 1024 * 1024) return null;
    const header = Buffer.alloc(length);
    readSync(fd, header, 0, length, 8);
    const meta = (JSON.parse(header.toString("utf8")) as { __metadata__?: Record<string, string> }).__metadata__;
    const info = meta?.training_info === undefined ? undefined : (JSON.parse(meta.training_info) as { step?: unknown });
    return typeof info?.step === "number" ? info.step : null;
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function byAge(files: string[]): string[] {
  // Python sorts by getctime; ties (same clock tick) fall back to the name, which for
  // zero-padded checkpoints is the step order.
  return files
    .map((file) => ({ file, time: statSync(file).ctimeMs }))
    .sort((a, b) => a.time - b.time || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
    .map(({ file }) => file);
}

function saves(folder: string, matches: (file: string) => boolean): string[] {
  try {
    return readdirSync(folder)
      .filter(matches)
      .map((file) => path.join(folder, file));
  } catch {
    return [];
  }
}

/** get_latest_save_path: the newest `<name>*.safetensors` (checkpoint or final), or null. */
export function latestSave(folder: string, name: string): string | null {
  const found = saves(folder, (file) => file.startsWith(name) && file.endsWith(".safetensors"));
  return byAge(found).pop() ?? null;
}

/** clean_up_saves: keeps the newest `keep` `<name>_*.safetensors`; returns what it removed. */
export function cleanUpSaves(folder: string, name: string, keep: number): string[] {
  const found = byAge(saves(folder, (file) => file.startsWith(`${name}_`) && file.endsWith(".safetensors")));
  const remove = keep > 0 ? found.slice(0, -keep) : found;
  for (const file of remove) rmSync(file, { force: true });
  return remove;
}

/** An empty zip archive: torch.save's container with nothing inside. */
export function writeOptimizer(file: string): void {
  const endOfCentralDirectory = Buffer.alloc(22);
  endOfCentralDirectory.writeUInt32LE(0x06054b50, 0);
  writeFileSync(file, endOfCentralDirectory);
}

const PALETTE: Rgb[] = [
  [74, 111, 165],
  [201, 139, 91],
  [96, 160, 120],
  [170, 90, 140],
  [220, 200, 110],
];

/** Writes one sample (and its thumbnail first) the way save_image_atomic does; returns its path. */
export function writeSample(samplesFolder: string, step: number, index: number, width: number, height: number): string {
  const file = `${Date.now()}__${pad9(step)}_${index}.jpg`;
  const tmp = path.join(samplesFolder, ".tmp");
  const thumbs = path.join(samplesFolder, ".thumbs");
  mkdirSync(tmp, { recursive: true });
  const from = PALETTE[index % PALETTE.length] ?? [0, 0, 0];
  const to = PALETTE[(index + 1 + (step % 3)) % PALETTE.length] ?? [255, 255, 255];
  // GenerateImageConfig rounds both sides down to a multiple of 8, 64 at least.
  const w = Math.max(64, width - (width % 8));
  const h = Math.max(64, height - (height % 8));
  writeFileSync(path.join(tmp, file), gradientJpeg(w, h, from, to));
  writeFileSync(path.join(tmp, `${file}.thumb`), gradientJpeg(300, 300, from, to));
  mkdirSync(thumbs, { recursive: true });
  renameSync(path.join(tmp, `${file}.thumb`), path.join(thumbs, `${file}.jpg`));
  renameSync(path.join(tmp, file), path.join(samplesFolder, file));
  return path.join(samplesFolder, file);
}
