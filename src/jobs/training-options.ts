import { z } from "zod";
import { FAMILY_IDS } from "./presets";

/**
 * The trainer's settings create_training_config takes beyond the original ten parameters, one
 * schema for the tool's input and both upstreams: ai-toolkit's UI writes each into its job config
 * (src/toolkit/ui/job-config.ts); the bridge has no parameter for them and refuses them.
 */

/** One training resolution: the side of a square of the same area; buckets snap to 64 px. */
export const resolutionValue = z
  .number()
  .int("each resolution must be a whole number")
  .min(256, "each resolution must be at least 256")
  .max(2048, "each resolution must be at most 2048")
  .multipleOf(8, "each resolution must be a multiple of 8");

const count = (field: string, max: number) =>
  z
    .number()
    .int(`${field} must be a whole number`)
    .min(1, `${field} must be at least 1`)
    .max(max, `${field} must be at most ${max}`);

/**
 * The training settings create_training_config can take beyond the bridge's ten parameters.
 * Each is optional: left out, the family's preset or the UI's default applies.
 */
export const trainingOptionsSchema = z.object({
  arch: z
    .enum(FAMILY_IDS)
    .optional()
    .describe(
      "Model family, when model_name does not name one (see docs/presets.md); sets scheduler, " +
        "quantization, sampling and the rest",
    ),
  learning_rate: z
    .number()
    .gt(0, "learning_rate must be greater than 0")
    .max(1e-2, "learning_rate must be at most 0.01")
    .optional()
    .describe("Learning rate (default: the family's, 0.0001 for most, 0.0002 for HiDream)"),
  batch_size: count("batch_size", 64).optional().describe("Images per step, 1-64 (default 1)"),
  gradient_accumulation: count("gradient_accumulation", 64)
    .optional()
    .describe("Steps whose gradients are summed before each update, 1-64 (default 1)"),
  save_every: count("save_every", 100_000).optional().describe("Save a checkpoint every this many steps (default 250)"),
  max_step_saves_to_keep: count("max_step_saves_to_keep", 100)
    .optional()
    .describe("How many intermediate checkpoints to keep, 1-100 (default 4)"),
  sample_every: count("sample_every", 100_000)
    .optional()
    .describe("Render the test prompts every this many steps (default 250)"),
  caption_ext: z
    .string()
    .regex(/^[A-Za-z0-9]{1,16}$/, "caption_ext must be a file extension without the dot, such as txt")
    .optional()
    .describe("Extension of the caption files next to the images (default txt)"),
  num_repeats: count("num_repeats", 1000)
    .optional()
    .describe("How many times each image counts per epoch, 1-1000 (default 1)"),
  resolutions: z
    .array(resolutionValue)
    .min(1, "resolutions must list at least one resolution")
    .max(8, "resolutions may list at most 8 resolutions")
    .refine((list) => new Set(list).size === list.length, "resolutions must not repeat a value")
    .optional()
    .describe(
      "Training resolutions, each 256-2048 and a multiple of 8; images are bucketed at each (the UI offers " +
        "256, 512, 768, 1024, 1280, 1328, 1536, 2048). Overrides resolution.",
    ),
});

export type TrainingOptions = z.infer<typeof trainingOptionsSchema>;
