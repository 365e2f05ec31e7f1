import type { ModelPreset } from "../../jobs/presets";
import type { TrainingOptions } from "../../jobs/training-options";

/**
 * The `job_config` ai-toolkit's web UI stores with a job (POST /api/jobs) and hands to the
 * trainer, built the way the UI's New Job page builds it: its defaults (ui/src/app/jobs/new/
 * jobConfig.ts), the chosen architecture's values (src/jobs/presets.ts, from options.tsx and
 * utils.ts), then what the caller asked for. The constants below are the UI's own defaults.
 */

/** Where the UI's trainer processes keep their job database; the New Job page always writes this. */
export const UI_SQLITE_DB_PATH = "./aitk_db.db";

/**
 * create_training_config's parameters, as the builder takes them (already validated). `arch`
 * only chooses the preset (resolveFamily in src/jobs/presets.ts); the builder uses the preset given.
 */
export interface UiJobParams extends TrainingOptions {
  name: string;
  model_name: string;
  dataset_path: string;
  resolution?: number | number[];
  steps: number;
  rank: number;
  alpha: number;
  /** Left out: the family's default. */
  low_vram?: boolean;
  trigger_word?: string | undefined;
  test_prompts?: string[] | undefined;
}

/** From GET /api/settings: the UI reads a job's files from TRAINING_FOLDER/<job name>. */
export interface UiFolders {
  training_folder: string;
}

type Json = boolean | number | string | null | Json[] | { [key: string]: Json };

export interface UiDataset {
  folder_path: string;
  mask_path: null;
  mask_min_value: number;
  default_caption: string;
  caption_ext: string;
  caption_dropout_rate: number;
  cache_latents_to_disk: boolean;
  is_reg: boolean;
  network_weight: number;
  resolution: number[];
  controls: string[];
  shrink_video_to_frames: boolean;
  num_frames: number;
  flip_x: boolean;
  flip_y: boolean;
  num_repeats: number;
  fps?: number;
  do_i2v?: boolean;
  control_path?: null;
  control_path_1?: null;
  control_path_2?: null;
  control_path_3?: null;
}

export interface UiProcess {
  type: "diffusion_trainer";
  training_folder: string;
  sqlite_db_path: string;
  device: "cuda";
  trigger_word: string | null;
  performance_log_every: number;
  network: {
    type: "lora";
    linear: number;
    linear_alpha: number;
    conv: number;
    conv_alpha: number;
    lokr_full_rank: boolean;
    lokr_factor: number;
    network_kwargs: { ignore_if_contains: string[] };
  };
  save: {
    dtype: string;
    save_every: number;
    max_step_saves_to_keep: number;
    save_format: string;
    push_to_hub: boolean;
  };
  datasets: UiDataset[];
  train: { [key: string]: Json };
  logging: { log_every: number; use_ui_logger: boolean };
  model: { [key: string]: Json };
  sample: {
    sampler: string;
    sample_every: number;
    sample_start_step: number;
    width: number;
    height: number;
    samples: { prompt: string }[];
    neg: string;
    seed: number;
    walk_seed: boolean;
    guidance_scale: number;
    sample_steps: number;
    num_frames: number;
    fps: number;
  };
}

export interface UiJobConfig {
  job: "extension";
  config: { name: string; process: [UiProcess] };
  meta: { name: string; version: string };
}

function resolutionsOf(params: UiJobParams, preset: ModelPreset): number[] {
  if (params.resolutions) return [...params.resolutions];
  if (Array.isArray(params.resolution)) return [...params.resolution];
  if (params.resolution !== undefined) return [params.resolution];
  return [...preset.resolution];
}

function datasetOf(params: UiJobParams, preset: ModelPreset): UiDataset {
  const dataset: UiDataset = {
    folder_path: params.dataset_path,
    mask_path: null,
    mask_min_value: 0.1,
    default_caption: "",
    caption_ext: params.caption_ext ?? "txt",
    caption_dropout_rate: 0.05,
    cache_latents_to_disk: false,
    is_reg: false,
    network_weight: 1,
    resolution: resolutionsOf(params, preset),
    controls: [...preset.controls],
    shrink_video_to_frames: true,
    num_frames: 1,
    flip_x: false,
    flip_y: false,
    num_repeats: params.num_repeats ?? 1,
  };
  if (preset.video) {
    dataset.fps = preset.video.dataset_fps;
    if (preset.video.do_i2v !== undefined) dataset.do_i2v = preset.video.do_i2v;
  }
  // utils.ts adds the control dataset fields an arch has, empty; the trainer reads null as none.
  if (preset.control_paths === "single") dataset.control_path = null;
  if (preset.control_paths === "multi")
    Object.assign(dataset, { control_path_1: null, control_path_2: null, control_path_3: null });
  return dataset;
}

function modelOf(params: UiJobParams, preset: ModelPreset): UiProcess["model"] {
  const model: UiProcess["model"] = {
    name_or_path: params.model_name,
    quantize: preset.quantize,
    qtype: preset.qtype,
    quantize_te: preset.quantize_te,
    qtype_te: preset.qtype_te,
    arch: preset.arch,
    // The trainer reads low_vram for every family; the UI shows the checkbox only where it helps.
    low_vram: params.low_vram ?? preset.low_vram,
    model_kwargs: { ...preset.model_kwargs },
    compile: false,
  };
  if (preset.offers_layer_offloading) {
    Object.assign(model, {
      layer_offloading: false,
      layer_offloading_text_encoder_percent: 1,
      layer_offloading_transformer_percent: 1,
    });
  }
  if (preset.assistant_lora_path) model.assistant_lora_path = preset.assistant_lora_path;
  return model;
}

function trainOf(params: UiJobParams, preset: ModelPreset, sampling: boolean): UiProcess["train"] {
  return {
    batch_size: params.batch_size ?? 1,
    bypass_guidance_embedding: preset.bypass_guidance_embedding,
    steps: params.steps,
    gradient_accumulation: params.gradient_accumulation ?? 1,
    train_unet: true,
    train_text_encoder: preset.train_text_encoder,
    gradient_checkpointing: true,
    noise_scheduler: preset.noise_scheduler,
    optimizer: "adamw8bit",
    timestep_type: preset.timestep_type,
    content_or_style: "balanced",
    optimizer_params: { weight_decay: 1e-4 },
    unload_text_encoder: false,
    cache_text_embeddings: false,
    lr: params.learning_rate ?? preset.lr,
    ema_config: { use_ema: false, ema_decay: 0.99 },
    skip_first_sample: false,
    force_first_sample: false,
    // The UI always has prompts (it starts with ten); with none, sampling is switched off instead.
    disable_sampling: !sampling,
    dtype: "bf16",
    diff_output_preservation: false,
    diff_output_preservation_multiplier: 1,
    diff_output_preservation_class: "person",
    switch_boundary_every: 1,
    loss_type: "mse",
  };
}

/**
 * The full job_config for POST /api/jobs. `config.name` is the job name and `training_folder`
 * the UI's TRAINING_FOLDER, so the UI finds the job's log, samples and checkpoints. Sample
 * prompts go in as given: the trainer replaces `[trigger]` in them with the trigger word, as it
 * does for jobs made in the UI.
 */
export function buildUiJobConfig(params: UiJobParams, preset: ModelPreset, folders: UiFolders): UiJobConfig {
  const samples = (params.test_prompts ?? []).map((prompt) => ({ prompt }));
  const trigger = params.trigger_word?.trim();
  return {
    job: "extension",
    config: {
      name: params.name,
      process: [
        {
          type: "diffusion_trainer",
          training_folder: folders.training_folder,
          sqlite_db_path: UI_SQLITE_DB_PATH,
          device: "cuda",
          trigger_word: trigger ? trigger : null,
          performance_log_every: 10,
          network: {
            type: "lora",
            linear: params.rank,
            linear_alpha: params.alpha,
            // Conv rank stays at the UI's 16 even where the arch hides it: the UI writes it so.
            conv: 16,
            conv_alpha: 16,
            lokr_full_rank: true,
            lokr_factor: -1,
            network_kwargs: { ignore_if_contains: [...preset.ignore_if_contains] },
          },
          save: {
            dtype: "bf16",
            save_every: params.save_every ?? 250,
            max_step_saves_to_keep: params.max_step_saves_to_keep ?? 4,
            save_format: "diffusers",
            push_to_hub: false,
          },
          datasets: [datasetOf(params, preset)],
          train: trainOf(params, preset, samples.length > 0),
          logging: { log_every: 1, use_ui_logger: true },
          model: modelOf(params, preset),
          sample: {
            sampler: preset.sampler,
            sample_every: params.sample_every ?? 250,
            sample_start_step: 0,
            width: preset.sample_width,
            height: preset.sample_height,
            samples,
            neg: "",
            seed: 42,
            walk_seed: true,
            guidance_scale: preset.guidance_scale,
            sample_steps: preset.sample_steps,
            num_frames: preset.video?.num_frames ?? 1,
            fps: preset.video?.fps ?? 1,
          },
        },
      ],
    },
    meta: { name: "[name]", version: "1.0" },
  };
}
