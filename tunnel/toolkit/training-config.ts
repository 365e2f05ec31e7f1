// The ai-toolkit job config that create_training_config writes.
//
// Same shape as the original's (an `extension` job with one `sd_trainer` process, a LoRA network,
// the dataset folder, steps, sample prompts, the base model, the trigger word), with two of the
// original's bugs fixed because they would make a real run train badly:
// - `low_vram` is honoured (the original accepts it and drops it);
// - FLUX models get the flowmatch noise scheduler and sampler and guidance 1.0 (the original
//   writes DDPM and guidance 7.5 for every model, which FLUX does not train or sample with).

import { VIRTUAL_ROOT } from "./paths.ts";

export interface TrainingConfigInput {
  name: string;
  modelName: string;
  datasetPath: string;
  resolution: number;
  steps: number;
  rank: number;
  alpha: number;
  lowVram: boolean;
  triggerWord: string;
  testPrompts: string[];
}

export type TrainingConfig = Record<string, unknown>;

/** Defaults of the original server's create_training_config. */
export const CONFIG_DEFAULTS = { resolution: 512, steps: 1000, rank: 16, alpha: 16, lowVram: true } as const;

/** FLUX is recognised by name, as ai-toolkit users name it ("black-forest-labs/FLUX.1-dev"). */
export function isFluxModel(modelName: string): boolean {
  return modelName.toLowerCase().includes("flux");
}

export function buildTrainingConfig(input: TrainingConfigInput): TrainingConfig {
  const flux = isFluxModel(input.modelName);
  const scheduler = flux ? "flowmatch" : "ddpm";
  // Save and sample four times per run at most, so short test runs still produce checkpoints.
  const every = Math.max(1, Math.min(250, Math.ceil(input.steps / 4)));

  const model: Record<string, unknown> = { name_or_path: input.modelName, low_vram: input.lowVram };
  if (flux) {
    model.is_flux = true;
    // Quantising the transformer is what lets FLUX train on a 24 GB card.
    model.quantize = true;
  } else {
    model.is_v2 = false;
    model.is_v_pred = false;
  }

  return {
    job: "extension",
    config: {
      name: input.name,
      process: [
        {
          type: "sd_trainer",
          training_folder: `${VIRTUAL_ROOT}/outputs`,
          device: "cuda:0",
          trigger_word: input.triggerWord,
          network: { type: "lora", linear: input.rank, linear_alpha: input.alpha },
          save: { dtype: "float16", save_every: every, max_step_saves_to_keep: 4 },
          datasets: [
            {
              folder_path: input.datasetPath,
              caption_ext: "txt",
              caption_dropout_rate: 0.05,
              shuffle_tokens: false,
              cache_latents_to_disk: true,
              resolution: [input.resolution],
            },
          ],
          train: {
            batch_size: 1,
            steps: input.steps,
            gradient_accumulation_steps: 1,
            train_unet: true,
            train_text_encoder: false,
            gradient_checkpointing: true,
            noise_scheduler: scheduler,
            optimizer: "adamw8bit",
            lr: 1e-4,
            dtype: "bf16",
          },
          model,
          sample: {
            sampler: scheduler,
            sample_every: every,
            width: input.resolution,
            height: input.resolution,
            prompts: input.testPrompts,
            neg: "",
            seed: 42,
            walk_seed: true,
            guidance_scale: flux ? 1.0 : 7.5,
            sample_steps: 20,
          },
        },
      ],
    },
    meta: { name: input.name, version: "1.0" },
  };
}

/** The fields a trainer needs, read defensively from a parsed config of any origin. */
export interface TrainerSettings {
  name: string;
  steps: number;
  rank: number;
  alpha: number;
  lr: number;
  modelName: string;
  datasetPath: string;
  trainingFolder: string;
  sampleEvery: number;
  prompts: string[];
  triggerWord: string;
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function num(value: unknown, fallback: number): number {
  const n = typeof value === "string" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : fallback;
}

function str(value: unknown, fallback: string): string {
  return typeof value === "string" ? value : fallback;
}

export function readTrainerSettings(config: unknown, fallbackName: string): TrainerSettings {
  const cfg = record(record(config).config);
  const processes = Array.isArray(cfg.process) ? cfg.process : [];
  const proc = record(processes[0]);
  const network = record(proc.network);
  const train = record(proc.train);
  const model = record(proc.model);
  const sample = record(proc.sample);
  const datasets = Array.isArray(proc.datasets) ? proc.datasets : [];
  const prompts = Array.isArray(sample.prompts) ? sample.prompts.filter((p) => typeof p === "string") : [];
  return {
    name: str(cfg.name, fallbackName),
    steps: Math.max(1, Math.floor(num(train.steps, CONFIG_DEFAULTS.steps))),
    rank: Math.max(1, Math.floor(num(network.linear, CONFIG_DEFAULTS.rank))),
    alpha: num(network.linear_alpha, CONFIG_DEFAULTS.alpha),
    lr: num(train.lr, 1e-4),
    modelName: str(model.name_or_path, "unknown"),
    datasetPath: str(record(datasets[0]).folder_path, ""),
    trainingFolder: str(proc.training_folder, ""),
    sampleEvery: Math.max(1, Math.floor(num(sample.sample_every, 250))),
    prompts,
    triggerWord: str(proc.trigger_word, ""),
  };
}
