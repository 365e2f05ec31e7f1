import { describe, expect, it } from "vitest";
import { z } from "zod";
import { FAMILY_IDS, MODEL_PRESETS } from "../../../src/jobs/presets";
import { trainingOptionsSchema } from "../../../src/jobs/training-options";
import { buildUiJobConfig, type UiJobConfig, type UiJobParams } from "../../../src/toolkit/ui/job-config";

/**
 * The shape of the UI's default job config (ui/src/app/jobs/new/jobConfig.ts with
 * helpers/defaultSamples.ts), written out here from the UI's source, independently of the
 * builder: every key it has, with its type. Strict objects refuse keys the UI never writes;
 * the optional ones are those the UI adds for some architectures (utils.ts, options.tsx).
 */
const uiShape = z.strictObject({
  job: z.literal("extension"),
  config: z.strictObject({
    name: z.string(),
    process: z
      .array(
        z.strictObject({
          type: z.literal("diffusion_trainer"),
          training_folder: z.string(),
          sqlite_db_path: z.string(),
          device: z.string(),
          trigger_word: z.string().nullable(),
          performance_log_every: z.number(),
          network: z.strictObject({
            type: z.string(),
            linear: z.number(),
            linear_alpha: z.number(),
            conv: z.number(),
            conv_alpha: z.number(),
            lokr_full_rank: z.boolean(),
            lokr_factor: z.number(),
            network_kwargs: z.strictObject({ ignore_if_contains: z.array(z.string()) }),
          }),
          save: z.strictObject({
            dtype: z.string(),
            save_every: z.number(),
            max_step_saves_to_keep: z.number(),
            save_format: z.string(),
            push_to_hub: z.boolean(),
          }),
          datasets: z
            .array(
              z.strictObject({
                folder_path: z.string(),
                mask_path: z.string().nullable(),
                mask_min_value: z.number(),
                default_caption: z.string(),
                caption_ext: z.string(),
                caption_dropout_rate: z.number(),
                cache_latents_to_disk: z.boolean(),
                is_reg: z.boolean(),
                network_weight: z.number(),
                resolution: z.array(z.number()).min(1),
                controls: z.array(z.string()),
                shrink_video_to_frames: z.boolean(),
                num_frames: z.number(),
                flip_x: z.boolean(),
                flip_y: z.boolean(),
                num_repeats: z.number(),
                fps: z.number().optional(),
                do_i2v: z.boolean().optional(),
                control_path: z.null().optional(),
                control_path_1: z.null().optional(),
                control_path_2: z.null().optional(),
                control_path_3: z.null().optional(),
              }),
            )
            .length(1),
          train: z.strictObject({
            batch_size: z.number(),
            bypass_guidance_embedding: z.boolean(),
            steps: z.number(),
            gradient_accumulation: z.number(),
            train_unet: z.boolean(),
            train_text_encoder: z.boolean(),
            gradient_checkpointing: z.boolean(),
            noise_scheduler: z.string(),
            optimizer: z.string(),
            timestep_type: z.string(),
            content_or_style: z.string(),
            optimizer_params: z.strictObject({ weight_decay: z.number() }),
            unload_text_encoder: z.boolean(),
            cache_text_embeddings: z.boolean(),
            lr: z.number(),
            ema_config: z.strictObject({ use_ema: z.boolean(), ema_decay: z.number() }),
            skip_first_sample: z.boolean(),
            force_first_sample: z.boolean(),
            disable_sampling: z.boolean(),
            dtype: z.string(),
            diff_output_preservation: z.boolean(),
            diff_output_preservation_multiplier: z.number(),
            diff_output_preservation_class: z.string(),
            switch_boundary_every: z.number(),
            loss_type: z.string(),
          }),
          logging: z.strictObject({ log_every: z.literal(1), use_ui_logger: z.literal(true) }),
          model: z.strictObject({
            name_or_path: z.string(),
            quantize: z.boolean(),
            qtype: z.string(),
            quantize_te: z.boolean(),
            qtype_te: z.string(),
            arch: z.string(),
            low_vram: z.boolean(),
            model_kwargs: z.record(z.string(), z.unknown()),
            compile: z.boolean(),
            layer_offloading: z.boolean().optional(),
            layer_offloading_text_encoder_percent: z.number().optional(),
            layer_offloading_transformer_percent: z.number().optional(),
            assistant_lora_path: z.string().optional(),
          }),
          sample: z.strictObject({
            sampler: z.string(),
            sample_every: z.number(),
            sample_start_step: z.number(),
            width: z.number(),
            height: z.number(),
            samples: z.array(z.strictObject({ prompt: z.string() })),
            neg: z.string(),
            seed: z.number(),
            walk_seed: z.boolean(),
            guidance_scale: z.number(),
            sample_steps: z.number(),
            num_frames: z.number(),
            fps: z.number(),
          }),
        }),
      )
      .length(1),
  }),
  meta: z.strictObject({ name: z.string(), version: z.string() }),
});

const folders = { training_folder: "/home/me/ai-toolkit/output" };

const base: UiJobParams = {
  name: "cat_lora",
  model_name: "black-forest-labs/FLUX.1-dev",
  dataset_path: "/home/me/ai-toolkit/datasets/cats",
  steps: 1500,
  rank: 16,
  alpha: 8,
  trigger_word: "ohwx",
  test_prompts: ["a photo of [trigger] cat", "[trigger] cat on a sofa"],
};

function processOf(config: UiJobConfig) {
  return config.config.process[0];
}

function expectUiShape(config: UiJobConfig) {
  const parsed = uiShape.safeParse(config);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  // Nothing undefined hides in it: it survives the JSON string the UI stores.
  expect(JSON.parse(JSON.stringify(config))).toEqual(config);
}

describe("buildUiJobConfig", () => {
  it("builds FLUX.1-dev in the UI's shape, named and placed so the UI finds the job's files", () => {
    const config = buildUiJobConfig(base, MODEL_PRESETS.flux, folders);
    expectUiShape(config);
    expect(config.job).toBe("extension");
    expect(config.config.name).toBe("cat_lora");
    expect(config.meta).toEqual({ name: "[name]", version: "1.0" });
    const p = processOf(config);
    expect(p).toMatchObject({
      type: "diffusion_trainer",
      training_folder: "/home/me/ai-toolkit/output",
      sqlite_db_path: "./aitk_db.db",
      device: "cuda",
      trigger_word: "ohwx",
      performance_log_every: 10,
      logging: { log_every: 1, use_ui_logger: true },
    });
    expect(p.network).toMatchObject({ type: "lora", linear: 16, linear_alpha: 8 });
    expect(p.model).toMatchObject({
      name_or_path: "black-forest-labs/FLUX.1-dev",
      arch: "flux",
      quantize: true,
      qtype: "qfloat8",
      quantize_te: true,
      qtype_te: "qfloat8",
      low_vram: false,
      model_kwargs: {},
    });
    expect(p.model).not.toHaveProperty("assistant_lora_path");
    expect(p.model).not.toHaveProperty("layer_offloading");
    expect(p.train).toMatchObject({
      steps: 1500,
      noise_scheduler: "flowmatch",
      timestep_type: "sigmoid",
      lr: 1e-4,
      batch_size: 1,
      gradient_accumulation: 1,
      train_text_encoder: false,
      bypass_guidance_embedding: false,
      disable_sampling: false,
    });
    expect(p.sample).toMatchObject({
      sampler: "flowmatch",
      guidance_scale: 4,
      sample_steps: 30,
      width: 1024,
      height: 1024,
      num_frames: 1,
      fps: 1,
      sample_every: 250,
    });
    // Prompts go in verbatim: the trainer itself puts the trigger word where [trigger] stands.
    expect(p.sample.samples).toEqual([{ prompt: "a photo of [trigger] cat" }, { prompt: "[trigger] cat on a sofa" }]);
    expect(p.datasets[0]).toMatchObject({
      folder_path: "/home/me/ai-toolkit/datasets/cats",
      caption_ext: "txt",
      resolution: [512, 768, 1024],
      num_repeats: 1,
      controls: [],
    });
    expect(p.datasets[0]).not.toHaveProperty("fps");
    expect(p.save).toEqual({
      dtype: "bf16",
      save_every: 250,
      max_step_saves_to_keep: 4,
      save_format: "diffusers",
      push_to_hub: false,
    });
  });

  it("gives FLUX.1-schnell its training adapter and distilled sampling", () => {
    const config = buildUiJobConfig(
      { ...base, model_name: "black-forest-labs/FLUX.1-schnell" },
      MODEL_PRESETS.flux_schnell,
      folders,
    );
    expectUiShape(config);
    const p = processOf(config);
    expect(p.model).toMatchObject({
      name_or_path: "black-forest-labs/FLUX.1-schnell",
      arch: "flux",
      assistant_lora_path: "ostris/FLUX.1-schnell-training-adapter",
    });
    expect(p.sample).toMatchObject({ guidance_scale: 1, sample_steps: 4, sampler: "flowmatch" });
  });

  it("gives SDXL DDPM, no quantization and guidance 6, even when low VRAM is asked for", () => {
    const config = buildUiJobConfig(
      { ...base, model_name: "stabilityai/stable-diffusion-xl-base-1.0", low_vram: true },
      MODEL_PRESETS.sdxl,
      folders,
    );
    expectUiShape(config);
    const p = processOf(config);
    expect(p.train).toMatchObject({ noise_scheduler: "ddpm" });
    expect(p.sample).toMatchObject({ sampler: "ddpm", guidance_scale: 6 });
    expect(p.model).toMatchObject({ arch: "sdxl", quantize: false, quantize_te: false, low_vram: true });
  });

  it("gives SD 1.5 512 px samples", () => {
    const p = processOf(
      buildUiJobConfig({ ...base, model_name: "runwayml/stable-diffusion-v1-5" }, MODEL_PRESETS.sd15, folders),
    );
    expect(p.sample).toMatchObject({ width: 512, height: 512, sampler: "ddpm" });
    expect(p.model).toMatchObject({ arch: "sd15", quantize: false });
  });

  it("gives Wan 2.1 its video fields", () => {
    const config = buildUiJobConfig(
      { ...base, model_name: "Wan-AI/Wan2.1-T2V-14B-Diffusers" },
      MODEL_PRESETS.wan21_14b,
      folders,
    );
    expectUiShape(config);
    const p = processOf(config);
    expect(p.model).toMatchObject({ arch: "wan21:14b", quantize: true, quantize_te: true, low_vram: false });
    expect(p.sample).toMatchObject({ num_frames: 41, fps: 16, sampler: "flowmatch" });
    expect(p.datasets[0]).toMatchObject({ fps: 16, num_frames: 1 });
    expect(p.datasets[0]).not.toHaveProperty("do_i2v");
  });

  it("gives Wan 2.2 14B both experts, layer offloading and low VRAM; 5B its frames, size and i2v", () => {
    const wan14 = processOf(
      buildUiJobConfig(
        { ...base, model_name: "ai-toolkit/Wan2.2-T2V-A14B-Diffusers-bf16" },
        MODEL_PRESETS.wan22_14b,
        folders,
      ),
    );
    expect(wan14.model).toMatchObject({
      arch: "wan22_14b:t2v",
      low_vram: true,
      model_kwargs: { train_high_noise: true, train_low_noise: true },
      layer_offloading: false,
      layer_offloading_text_encoder_percent: 1,
      layer_offloading_transformer_percent: 1,
    });
    expect(wan14.train).toMatchObject({ timestep_type: "linear", switch_boundary_every: 1 });

    const config5 = buildUiJobConfig(
      { ...base, model_name: "Wan-AI/Wan2.2-TI2V-5B-Diffusers" },
      MODEL_PRESETS.wan22_5b,
      folders,
    );
    expectUiShape(config5);
    const wan5 = processOf(config5);
    expect(wan5.sample).toMatchObject({ num_frames: 121, fps: 24, width: 768, height: 768 });
    expect(wan5.datasets[0]).toMatchObject({ fps: 24, do_i2v: true });
  });

  it("takes every optional training parameter", () => {
    const config = buildUiJobConfig(
      {
        ...base,
        learning_rate: 5e-5,
        batch_size: 2,
        gradient_accumulation: 4,
        save_every: 100,
        max_step_saves_to_keep: 10,
        sample_every: 200,
        caption_ext: "caption",
        num_repeats: 3,
        resolutions: [768, 1024],
        low_vram: true,
      },
      MODEL_PRESETS.flux,
      folders,
    );
    expectUiShape(config);
    const p = processOf(config);
    expect(p.train).toMatchObject({ lr: 5e-5, batch_size: 2, gradient_accumulation: 4 });
    expect(p.save).toMatchObject({ save_every: 100, max_step_saves_to_keep: 10 });
    expect(p.sample.sample_every).toBe(200);
    expect(p.datasets[0]).toMatchObject({ caption_ext: "caption", num_repeats: 3, resolution: [768, 1024] });
    expect(p.model.low_vram).toBe(true);
  });

  it("reads resolution as one number or a list; resolutions wins; none gives the family's", () => {
    const res = (params: Partial<UiJobParams>, family: keyof typeof MODEL_PRESETS = "flux") =>
      processOf(buildUiJobConfig({ ...base, ...params }, MODEL_PRESETS[family], folders)).datasets[0]?.resolution;
    expect(res({ resolution: 512 })).toEqual([512]);
    expect(res({ resolution: [512, 1024] })).toEqual([512, 1024]);
    expect(res({ resolution: 512, resolutions: [1328] })).toEqual([1328]);
    expect(res({})).toEqual([512, 768, 1024]);
    expect(res({}, "sd35")).toEqual([1024]);
  });

  it("uses the family's Low VRAM default when none is asked for", () => {
    expect(processOf(buildUiJobConfig(base, MODEL_PRESETS.qwen_image, folders)).model.low_vram).toBe(true);
    expect(
      processOf(buildUiJobConfig({ ...base, low_vram: false }, MODEL_PRESETS.qwen_image, folders)).model.low_vram,
    ).toBe(false);
  });

  it("switches sampling off when there is no test prompt, and leaves a blank trigger word out", () => {
    const p = processOf(
      buildUiJobConfig({ ...base, test_prompts: undefined, trigger_word: "   " }, MODEL_PRESETS.flux, folders),
    );
    expect(p.sample.samples).toEqual([]);
    expect(p.train.disable_sampling).toBe(true);
    expect(p.trigger_word).toBeNull();
    expect(
      processOf(buildUiJobConfig({ ...base, test_prompts: [], trigger_word: undefined }, MODEL_PRESETS.flux, folders))
        .trigger_word,
    ).toBeNull();
    expect(
      processOf(buildUiJobConfig({ ...base, trigger_word: " ohwx " }, MODEL_PRESETS.flux, folders)).trigger_word,
    ).toBe("ohwx");
  });

  it("adds the control fields, controls and layer-offloading fields the UI adds for an arch", () => {
    expect(processOf(buildUiJobConfig(base, MODEL_PRESETS.omnigen2, folders)).datasets[0]).toMatchObject({
      control_path: null,
    });
    const flux2 = processOf(buildUiJobConfig(base, MODEL_PRESETS.flux2, folders));
    expect(flux2.datasets[0]).toMatchObject({ control_path_1: null, control_path_2: null, control_path_3: null });
    expect(flux2.model).toMatchObject({ layer_offloading: false, model_kwargs: { match_target_res: false } });
    const flex2 = processOf(buildUiJobConfig(base, MODEL_PRESETS.flex2, folders));
    expect(flex2.datasets[0]?.controls).toEqual(["depth", "line", "pose", "inpaint"]);
    expect(flex2.train.bypass_guidance_embedding).toBe(true);
    const hidream = processOf(buildUiJobConfig(base, MODEL_PRESETS.hidream, folders));
    expect(hidream.network.network_kwargs.ignore_if_contains).toEqual(["ff_i.experts", "ff_i.gate"]);
    expect(hidream.train.lr).toBe(2e-4);
  });

  it.each(FAMILY_IDS)("builds %s in the UI's shape", (family) => {
    const preset = MODEL_PRESETS[family];
    const config = buildUiJobConfig({ ...base, model_name: preset.name_or_path }, preset, folders);
    expectUiShape(config);
    const p = processOf(config);
    expect(p.model.arch).toBe(preset.arch);
    expect(p.train.noise_scheduler).toBe(p.sample.sampler);
  });

  it("hands out copies: changing a built config leaves the preset alone", () => {
    const p = processOf(buildUiJobConfig(base, MODEL_PRESETS.wan22_14b, folders));
    p.datasets[0]?.resolution.push(2048);
    (p.model.model_kwargs as Record<string, unknown>).train_low_noise = false;
    p.network.network_kwargs.ignore_if_contains.push("x");
    expect(MODEL_PRESETS.wan22_14b.resolution).toEqual([512, 768, 1024]);
    expect(MODEL_PRESETS.wan22_14b.model_kwargs).toEqual({ train_high_noise: true, train_low_noise: true });
    expect(MODEL_PRESETS.wan22_14b.ignore_if_contains).toEqual([]);
  });
});

describe("trainingOptionsSchema", () => {
  const refused = (options: Record<string, unknown>, message: string | RegExp) => {
    const parsed = trainingOptionsSchema.safeParse(options);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((issue) => issue.message).join("; ")).toMatch(message);
  };

  it("accepts nothing at all, and every option within bounds", () => {
    expect(trainingOptionsSchema.parse({})).toEqual({});
    const all = {
      arch: "wan22_5b",
      learning_rate: 1e-2,
      batch_size: 64,
      gradient_accumulation: 64,
      save_every: 1,
      max_step_saves_to_keep: 100,
      sample_every: 100_000,
      caption_ext: "json",
      num_repeats: 1000,
      resolutions: [256, 512, 632, 768, 1024, 1280, 1328, 2048],
    };
    expect(trainingOptionsSchema.parse(all)).toEqual(all);
  });

  it.each<[Record<string, unknown>, string | RegExp]>([
    [{ learning_rate: 0 }, "learning_rate must be greater than 0"],
    [{ learning_rate: -1e-4 }, "learning_rate must be greater than 0"],
    [{ learning_rate: 0.02 }, "learning_rate must be at most 0.01"],
    [{ batch_size: 0 }, "batch_size must be at least 1"],
    [{ batch_size: 65 }, "batch_size must be at most 64"],
    [{ batch_size: 1.5 }, "batch_size must be a whole number"],
    [{ gradient_accumulation: 0 }, "gradient_accumulation must be at least 1"],
    [{ save_every: 0 }, "save_every must be at least 1"],
    [{ sample_every: 100_001 }, "sample_every must be at most 100000"],
    [{ max_step_saves_to_keep: 101 }, "max_step_saves_to_keep must be at most 100"],
    [{ num_repeats: 0 }, "num_repeats must be at least 1"],
    [{ caption_ext: ".txt" }, "caption_ext must be a file extension without the dot, such as txt"],
    [{ caption_ext: "" }, "caption_ext must be a file extension"],
    [{ resolutions: [] }, "resolutions must list at least one resolution"],
    [{ resolutions: [128] }, "each resolution must be at least 256"],
    [{ resolutions: [4096] }, "each resolution must be at most 2048"],
    [{ resolutions: [1001] }, "each resolution must be a multiple of 8"],
    [{ resolutions: [512.5] }, "each resolution must be a whole number"],
    [{ resolutions: [512, 512] }, "resolutions must not repeat a value"],
    [{ resolutions: [256, 512, 768, 1024, 1280, 1328, 1536, 2048, 640] }, "resolutions may list at most 8 resolutions"],
    [{ arch: "sd2" }, /Invalid option: expected one of "flux"\|"flux_schnell"/],
  ])("refuses %j", (options, message) => refused(options, message));
});
