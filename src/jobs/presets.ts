import { z } from "zod";

/**
 * Model-family presets: what ai-toolkit's own web UI puts in a job when the user picks a model
 * architecture on its New Job page, one entry per family this server can configure.
 *
 * The facts come from ostris/ai-toolkit (read at 27a03a9, version 0.12.26):
 * - `ui/src/app/jobs/new/jobConfig.ts`: the New Job defaults every family starts from;
 * - `ui/src/app/jobs/new/options.tsx` (`modelArchs`): each architecture's `defaults` (the
 *   "selected" value of each pair), `disableSections` and `additionalSections`;
 * - `ui/src/app/jobs/new/utils.ts` (`handleModelArchChange`): leaving the default arch (flex1)
 *   resets its values (so `bypass_guidance_embedding` is false everywhere but Flex), and
 *   `low_vram` is forced false where the arch offers no Low VRAM option;
 * - `config/examples/*.yaml` for what options.tsx lacks: FLUX.1-schnell (its training adapter,
 *   guidance 1, 4 sample steps) and SD 3.5 (arch `sd3`, linear timesteps, 1024 px).
 * Families that need control images (Kontext, the Qwen and HiDream edit models, I2V models) are
 * left out: create_training_config has no parameter for control datasets or sample images.
 *
 * docs/presets.md shows this table for people.
 */

/** Sections of the UI's form an architecture hides (options.tsx `DisableableSections`). */
const disableableSection = z.enum(["model.quantize", "train.timestep_type", "network.conv"]);

export const modelPresetSchema = z
  .object({
    label: z.string().min(1),
    kind: z.enum(["image", "video"]),
    /** "ui": options.tsx has the arch; "example": the values come from config/examples. */
    source: z.enum(["ui", "example"]),
    name_or_path: z.string().min(1).describe("Default base model (Hugging Face id)"),
    arch: z.string().min(1).describe("model.arch exactly as the UI writes it (the trainer drops any ':tag')"),
    quantize: z.boolean(),
    qtype: z.string().min(1),
    quantize_te: z.boolean(),
    qtype_te: z.string().min(1),
    low_vram: z.boolean(),
    model_kwargs: z.record(z.string(), z.union([z.boolean(), z.number(), z.string()])),
    /** A LoRA merged in while training and removed for saving (distilled models need one). */
    assistant_lora_path: z.string().min(1).optional(),
    noise_scheduler: z.enum(["flowmatch", "ddpm"]),
    sampler: z.enum(["flowmatch", "ddpm"]),
    timestep_type: z.enum(["sigmoid", "linear", "shift", "weighted"]),
    lr: z.number().positive().max(1e-2),
    bypass_guidance_embedding: z.boolean(),
    train_text_encoder: z.literal(false),
    guidance_scale: z.number().min(0),
    sample_steps: z.number().int().min(1),
    sample_width: z.number().int().min(64),
    sample_height: z.number().int().min(64),
    /** Training resolutions of the dataset (each the side of a square of the same area). */
    resolution: z.array(z.number().int().min(64)).min(1),
    /** Sampling and dataset settings of video families; image families sample 1 frame at 1 fps. */
    video: z
      .object({
        num_frames: z.number().int().min(1),
        fps: z.number().int().min(1),
        /** The dataset's fps (`datasets[x].fps`). */
        dataset_fps: z.number().int().min(1),
        /** Train image-to-video from the first frame too (`datasets[x].do_i2v`). */
        do_i2v: z.boolean().optional(),
      })
      .optional(),
    /** Control types the trainer derives for every dataset image (Flex.2). */
    controls: z.array(z.enum(["depth", "line", "pose", "inpaint"])),
    /** Which control-path fields the UI adds to a dataset (all left null here). */
    control_paths: z.enum(["none", "single", "multi"]),
    ignore_if_contains: z.array(z.string().min(1)),
    /** The UI offers a Low VRAM checkbox / Layer Offloading for this arch. */
    offers_low_vram: z.boolean(),
    offers_layer_offloading: z.boolean(),
    disabled_sections: z.array(disableableSection),
    /** The model is gated on Hugging Face: accept its terms there and give the UI an HF token. */
    gate_url: z.url().optional(),
  })
  .refine((p) => p.sampler === p.noise_scheduler, { message: "sampler must match noise_scheduler", path: ["sampler"] })
  .refine((p) => (p.kind === "video") === (p.video !== undefined), {
    message: "video settings belong to video families, and only to them",
    path: ["video"],
  })
  .refine((p) => !p.disabled_sections.includes("model.quantize") || (!p.quantize && !p.quantize_te), {
    message: "a family whose quantize section is disabled must not quantize",
    path: ["quantize"],
  });

export type ModelPreset = z.infer<typeof modelPresetSchema>;

/** The UI's New Job defaults (jobConfig.ts) as a family inherits them; each entry overrides. */
const UI_DEFAULTS = {
  source: "ui",
  quantize: true,
  qtype: "qfloat8",
  quantize_te: true,
  qtype_te: "qfloat8",
  low_vram: false,
  model_kwargs: {},
  noise_scheduler: "flowmatch",
  sampler: "flowmatch",
  timestep_type: "sigmoid",
  lr: 1e-4,
  bypass_guidance_embedding: false,
  train_text_encoder: false,
  guidance_scale: 4,
  sample_steps: 30,
  sample_width: 1024,
  sample_height: 1024,
  resolution: [512, 768, 1024],
  controls: [],
  control_paths: "none",
  ignore_if_contains: [],
  offers_low_vram: false,
  offers_layer_offloading: false,
  disabled_sections: ["network.conv"],
} satisfies Partial<ModelPreset>;

/** Wan sampling: 41 frames at 16 fps, datasets at 16 fps (options.tsx, every Wan 2.1 / 2.2 14B arch). */
const WAN_VIDEO = { num_frames: 41, fps: 16, dataset_fps: 16 };

/** A family's entry: what it sets beyond the UI's defaults. */
type Entry = Omit<ModelPreset, keyof typeof UI_DEFAULTS | "kind"> & Partial<ModelPreset>;

// Every preset gets arrays and objects of its own, so no two presets share one.
const image = (preset: Entry): ModelPreset => ({
  ...UI_DEFAULTS,
  resolution: [...UI_DEFAULTS.resolution],
  controls: [],
  ignore_if_contains: [],
  disabled_sections: [...UI_DEFAULTS.disabled_sections],
  model_kwargs: {},
  kind: "image",
  ...preset,
});

const video = (preset: Entry): ModelPreset => ({
  ...image(preset),
  kind: "video",
});

/** What options.tsx gives FLUX.2 and both FLUX.2-klein archs alike (fresh objects each call). */
const flux2Settings = () =>
  ({
    low_vram: true,
    timestep_type: "weighted",
    model_kwargs: { match_target_res: false },
    control_paths: "multi",
    offers_low_vram: true,
    offers_layer_offloading: true,
  }) satisfies Partial<ModelPreset>;

export const MODEL_PRESETS = {
  flux: image({
    label: "FLUX.1-dev",
    name_or_path: "black-forest-labs/FLUX.1-dev",
    arch: "flux",
    gate_url: "https://huggingface.co/black-forest-labs/FLUX.1-dev",
  }),
  flux_schnell: image({
    label: "FLUX.1-schnell (with training adapter)",
    source: "example",
    name_or_path: "black-forest-labs/FLUX.1-schnell",
    arch: "flux",
    // config/examples/train_lora_flux_schnell_24gb.yaml: "Required for flux schnell training"
    assistant_lora_path: "ostris/FLUX.1-schnell-training-adapter",
    guidance_scale: 1,
    sample_steps: 4,
  }),
  flex1: image({
    label: "Flex.1",
    name_or_path: "ostris/Flex.1-alpha",
    arch: "flex1",
    bypass_guidance_embedding: true,
  }),
  flex2: image({
    label: "Flex.2",
    name_or_path: "ostris/Flex.2-preview",
    arch: "flex2",
    bypass_guidance_embedding: true,
    controls: ["depth", "line", "pose", "inpaint"],
    model_kwargs: {
      invert_inpaint_mask_chance: 0.2,
      inpaint_dropout: 0.5,
      control_dropout: 0.5,
      inpaint_random_chance: 0.2,
      do_random_inpainting: true,
      random_blur_mask: true,
      random_dialate_mask: true,
    },
  }),
  chroma: image({ label: "Chroma", name_or_path: "lodestones/Chroma1-Base", arch: "chroma" }),
  sdxl: image({
    label: "SDXL",
    name_or_path: "stabilityai/stable-diffusion-xl-base-1.0",
    arch: "sdxl",
    quantize: false,
    quantize_te: false,
    noise_scheduler: "ddpm",
    sampler: "ddpm",
    guidance_scale: 6,
    disabled_sections: ["model.quantize", "train.timestep_type"],
  }),
  sd15: image({
    label: "SD 1.5",
    name_or_path: "stable-diffusion-v1-5/stable-diffusion-v1-5",
    arch: "sd15",
    quantize: false,
    quantize_te: false,
    noise_scheduler: "ddpm",
    sampler: "ddpm",
    guidance_scale: 6,
    sample_width: 512,
    sample_height: 512,
    disabled_sections: ["model.quantize", "train.timestep_type"],
  }),
  sd35: image({
    // config/examples/train_lora_sd35_large_24gb.yaml; the trainer's ModelConfig maps arch sd3 to is_v3.
    label: "SD 3.5 Large",
    source: "example",
    name_or_path: "stabilityai/stable-diffusion-3.5-large",
    arch: "sd3",
    timestep_type: "linear",
    sample_steps: 25,
    resolution: [1024],
  }),
  hidream: image({
    label: "HiDream-I1",
    name_or_path: "HiDream-ai/HiDream-I1-Full",
    arch: "hidream",
    lr: 2e-4,
    timestep_type: "shift",
    ignore_if_contains: ["ff_i.experts", "ff_i.gate"],
    offers_low_vram: true,
  }),
  qwen_image: image({
    label: "Qwen-Image",
    name_or_path: "Qwen/Qwen-Image",
    arch: "qwen_image",
    low_vram: true,
    timestep_type: "weighted",
    offers_low_vram: true,
    offers_layer_offloading: true,
  }),
  qwen_image_2512: image({
    label: "Qwen-Image-2512",
    name_or_path: "Qwen/Qwen-Image-2512",
    arch: "qwen_image:2512",
    low_vram: true,
    timestep_type: "weighted",
    offers_low_vram: true,
    offers_layer_offloading: true,
  }),
  lumina2: image({ label: "Lumina2", name_or_path: "Alpha-VLLM/Lumina-Image-2.0", arch: "lumina2", quantize: false }),
  omnigen2: image({
    label: "OmniGen2",
    name_or_path: "OmniGen2/OmniGen2",
    arch: "omnigen2",
    quantize: false,
    control_paths: "single",
  }),
  zimage: image({
    label: "Z-Image",
    name_or_path: "Tongyi-MAI/Z-Image",
    arch: "zimage",
    low_vram: true,
    timestep_type: "weighted",
    offers_low_vram: true,
    offers_layer_offloading: true,
  }),
  zimage_turbo: image({
    label: "Z-Image Turbo (with training adapter)",
    name_or_path: "Tongyi-MAI/Z-Image-Turbo",
    arch: "zimage:turbo",
    low_vram: true,
    timestep_type: "weighted",
    assistant_lora_path: "ostris/zimage_turbo_training_adapter/zimage_turbo_training_adapter_v2.safetensors",
    guidance_scale: 1,
    sample_steps: 9,
    offers_low_vram: true,
    offers_layer_offloading: true,
  }),
  flux2: image({
    label: "FLUX.2-dev",
    name_or_path: "black-forest-labs/FLUX.2-dev",
    arch: "flux2",
    ...flux2Settings(),
    gate_url: "https://huggingface.co/black-forest-labs/FLUX.2-dev",
  }),
  flux2_klein_4b: image({
    label: "FLUX.2-klein-base-4B",
    name_or_path: "black-forest-labs/FLUX.2-klein-base-4B",
    arch: "flux2_klein_4b",
    ...flux2Settings(),
  }),
  flux2_klein_9b: image({
    label: "FLUX.2-klein-base-9B",
    name_or_path: "black-forest-labs/FLUX.2-klein-base-9B",
    arch: "flux2_klein_9b",
    ...flux2Settings(),
    gate_url: "https://huggingface.co/black-forest-labs/FLUX.2-klein-base-9B",
  }),
  wan21_1b: video({
    label: "Wan 2.1 T2V (1.3B)",
    name_or_path: "Wan-AI/Wan2.1-T2V-1.3B-Diffusers",
    arch: "wan21:1b",
    quantize: false,
    video: { ...WAN_VIDEO },
    offers_low_vram: true,
  }),
  wan21_14b: video({
    label: "Wan 2.1 T2V (14B)",
    name_or_path: "Wan-AI/Wan2.1-T2V-14B-Diffusers",
    arch: "wan21:14b",
    video: { ...WAN_VIDEO },
    offers_low_vram: true,
  }),
  wan22_14b: video({
    label: "Wan 2.2 T2V (14B)",
    name_or_path: "ai-toolkit/Wan2.2-T2V-A14B-Diffusers-bf16",
    arch: "wan22_14b:t2v",
    low_vram: true,
    timestep_type: "linear",
    // Both experts of the mixture are trained, switching every step (train.switch_boundary_every 1).
    model_kwargs: { train_high_noise: true, train_low_noise: true },
    video: { ...WAN_VIDEO },
    offers_low_vram: true,
    offers_layer_offloading: true,
  }),
  wan22_5b: video({
    label: "Wan 2.2 TI2V (5B)",
    name_or_path: "Wan-AI/Wan2.2-TI2V-5B-Diffusers",
    arch: "wan22_5b",
    low_vram: true,
    timestep_type: "weighted",
    sample_width: 768,
    sample_height: 768,
    video: { num_frames: 121, fps: 24, dataset_fps: 24, do_i2v: true },
    offers_low_vram: true,
  }),
} satisfies Record<string, ModelPreset>;

export type FamilyId = keyof typeof MODEL_PRESETS;

/** Every family id, in table order; a non-empty tuple, so `z.enum(FAMILY_IDS)` accepts it. */
export const FAMILY_IDS = Object.keys(MODEL_PRESETS) as [FamilyId, ...FamilyId[]];

/**
 * How model names read, most specific first: each pattern is tried on one path segment,
 * lower-cased, without a weights-file extension. Variants the table does not cover (Kontext,
 * Fill, edit, I2V, turbo-distilled SD 3.5, Chroma Radiance, ...) match nothing.
 */
const RECOGNIZERS: ReadonlyArray<readonly [FamilyId, RegExp]> = [
  ["flux_schnell", /^flux[.\-_]?1[.\-_]?schnell/],
  ["flux", /^flux[.\-_]?1?[.\-_]?dev/],
  ["flux2_klein_4b", /^flux[.\-_]?2[.\-_]?klein.*4b/],
  ["flux2_klein_9b", /^flux[.\-_]?2[.\-_]?klein.*9b/],
  ["flux2", /^flux[.\-_]?2[.\-_]?dev/],
  ["flex1", /^flex[.\-_]?1/],
  ["flex2", /^flex[.\-_]?2/],
  ["chroma", /^chroma(1-(?!radiance)[a-z]+)?$|^chroma-unlocked-v\d+/],
  ["sdxl", /^(stable-diffusion-xl|sd[_-]?xl)/],
  ["sd15", /^(stable-diffusion-v1-5|sd[_-]?v?1[._-]?5\b|v1-5-pruned)/],
  ["sd35", /^(stable-diffusion-3\.5|sd[_-]?3\.?5)[_-](large|medium)$/],
  ["hidream", /^hidream-i1-full$/],
  ["qwen_image_2512", /^qwen[_-]image[_-]2512$/],
  ["qwen_image", /^qwen[_-]image$/],
  ["lumina2", /^lumina-image-2\.0$/],
  ["omnigen2", /^omnigen2$/],
  ["zimage_turbo", /^z-image-turbo$/],
  ["zimage", /^z-image$/],
  ["wan21_1b", /^wan2\.1-t2v-1\.3b/],
  ["wan21_14b", /^wan2\.1-t2v-14b/],
  ["wan22_14b", /^wan2\.2-t2v-a14b/],
  ["wan22_5b", /^wan2\.2-ti2v-5b/],
];

const WEIGHTS_EXTENSION = /\.(safetensors|ckpt|pt|pth|bin|gguf)$/;

/**
 * The family a model name belongs to: a Hugging Face id (`black-forest-labs/FLUX.1-dev`), a file
 * in a repo (`lodestones/Chroma/chroma-unlocked-v48.safetensors`) or a local path
 * (`/models/flux1-dev`). Segments are read from the last one back, so the most specific part of
 * the name decides; undefined when no segment names a family in the table.
 */
export function recognizeFamily(modelName: string): FamilyId | undefined {
  const segments = modelName
    .trim()
    .toLowerCase()
    .split(/[\\/]+/)
    .filter(Boolean);
  for (const segment of segments.reverse()) {
    const stem = segment.replace(WEIGHTS_EXTENSION, "");
    const hit = RECOGNIZERS.find(([, pattern]) => pattern.test(stem));
    if (hit) return hit[0];
  }
  return undefined;
}

export interface ResolvedFamily {
  family: FamilyId;
  preset: ModelPreset;
}

/** The family named by `arch` if given, else the one the model name reads as. */
export function resolveFamily(modelName: string, arch?: FamilyId): ResolvedFamily | undefined {
  const family = arch ?? recognizeFamily(modelName);
  return family === undefined ? undefined : { family, preset: MODEL_PRESETS[family] };
}

/** What to tell a caller whose model name reads as no family. */
export function unknownFamilyMessage(modelName: string): string {
  return (
    `model_name "${modelName}" is not a model family this server recognises: ` +
    `pass arch, one of ${FAMILY_IDS.join(", ")} (see docs/presets.md)`
  );
}

/**
 * What the bridge's create_training_config can be told for a family. The bridge takes only name,
 * model_name, dataset_path, resolution, steps, rank, alpha, low_vram, trigger_word and
 * test_prompts, and always writes a DDPM scheduler and guidance 7.5 (docs/presets.md).
 */
export interface BridgeDefaults {
  /** One training resolution: the family's native sample size (the bridge takes a single number). */
  resolution: number;
  /** The UI's Low VRAM default for the family (the real bridge drops it; the local stand-in honours it). */
  low_vram: boolean;
  /** Settings of this family the bridge has no parameter for, worded for a person. */
  not_expressible: string[];
}

export function bridgeDefaults(family: FamilyId): BridgeDefaults {
  const p: ModelPreset = MODEL_PRESETS[family];
  const lost: string[] = [`arch ${p.arch}`];
  if (p.noise_scheduler !== "ddpm")
    lost.push(`${p.noise_scheduler} noise scheduler and sampler (the bridge writes ddpm)`);
  if (p.guidance_scale !== 7.5) lost.push(`sample guidance ${p.guidance_scale} (the bridge writes 7.5)`);
  if (!p.disabled_sections.includes("train.timestep_type")) lost.push(`timestep type ${p.timestep_type}`);
  if (p.quantize || p.quantize_te) {
    lost.push(
      `quantization (transformer ${p.quantize ? p.qtype : "off"}, text encoder ${p.quantize_te ? p.qtype_te : "off"})`,
    );
  }
  if (p.assistant_lora_path) lost.push(`training adapter ${p.assistant_lora_path}`);
  if (Object.keys(p.model_kwargs).length > 0) lost.push(`model_kwargs ${JSON.stringify(p.model_kwargs)}`);
  lost.push(`learning rate ${p.lr}`, `${p.sample_steps} sample steps`);
  if (p.low_vram) lost.push("Low VRAM (the bridge drops low_vram)");
  if (p.video) lost.push(`video sampling (${p.video.num_frames} frames at ${p.video.fps} fps)`);
  if (p.bypass_guidance_embedding) lost.push("bypass_guidance_embedding");
  if (p.ignore_if_contains.length > 0) lost.push(`layers left out of the LoRA (${p.ignore_if_contains.join(", ")})`);
  return {
    resolution: Math.min(p.sample_width, p.sample_height),
    low_vram: p.low_vram,
    not_expressible: lost,
  };
}
