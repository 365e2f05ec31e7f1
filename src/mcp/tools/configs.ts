import { z } from "zod";
import type { Config } from "../../config";
import { plural } from "../../common";
import { trainingOptionsSchema } from "../../jobs/training-options";
import { baseModel, datasetPath, safeName, testPrompt, triggerWord } from "../fields";
import { answer, defineTool, idempotentWrite, readOnly, type DefinedTool } from "../tool";

/**
 * create_training_config, list_configs, get_config: training configurations (YAML on the
 * toolkit). Their answers are the toolkit's, relayed as they are, so their output schemas are
 * the toolkit protocol's own (loose: the toolkit may add fields, and they are passed on).
 */
export function configTools(config: Config): DefinedTool[] {
  return [
    defineTool({
      name: "create_training_config",
      title: "Create training config",
      description:
        "Create (or overwrite) a LoRA training configuration on the toolkit. The dataset must already be " +
        "on the toolkit (upload_dataset or create_dataset_upload).",
      input: z.object({
        name: safeName("name").describe("Name of the configuration; also the name of the trained LoRA"),
        model_name: baseModel(config.MODELS_ROOT).describe(
          `Base model: a Hugging Face model id "owner/name" (e.g. black-forest-labs/FLUX.1-dev), or the ` +
            `absolute path of a model folder or file on the toolkit under ${config.MODELS_ROOT}/ ` +
            `(MODELS_ROOT). Nothing else is accepted.`,
        ),
        dataset_path: datasetPath(config.DATASETS_ROOT).describe(
          `The dataset: its name as list_datasets shows it (e.g. cats), or the absolute path of its folder ` +
            `on the toolkit, under ${config.DATASETS_ROOT}/ (DATASETS_ROOT)`,
        ),
        resolution: z
          .number()
          .int("resolution must be a whole number")
          .min(256, "resolution must be at least 256")
          .max(2048, "resolution must be at most 2048")
          .multipleOf(8, "resolution must be a multiple of 8")
          .optional()
          .describe("Training resolution in pixels (256-2048, multiple of 8; default: the model family's native size)"),
        steps: z
          .number()
          .int("steps must be a whole number")
          .min(1, "steps must be at least 1")
          .max(100_000, "steps must be at most 100000")
          .default(1000)
          .describe("Number of training steps (1-100000)"),
        rank: z
          .number()
          .int("rank must be a whole number")
          .min(1, "rank must be at least 1")
          .max(256, "rank must be at most 256")
          .default(16)
          .describe("LoRA rank (network dim), 1-256"),
        alpha: z
          .number()
          .int("alpha must be a whole number")
          .min(1, "alpha must be at least 1")
          .max(256, "alpha must be at most 256")
          .default(16)
          .describe("LoRA alpha, 1-256"),
        low_vram: z
          .boolean()
          .optional()
          .describe("Quantize and offload to fit GPUs with less memory (default: the model family's)"),
        trigger_word: triggerWord
          .optional()
          .describe("Word that activates the LoRA in prompts: one line, no control or invisible characters"),
        test_prompts: z
          .array(testPrompt)
          .max(20, "at most 20 test_prompts")
          .optional()
          .describe("Prompts sampled during training to preview progress"),
        ...trainingOptionsSchema.shape,
      }),
      output: configSavedOutput,
      annotations: idempotentWrite,
      async run(args, { upstream }) {
        const result = await upstream.createConfig(args);
        const family = result.family ? ` with the ${result.family} defaults` : "";
        const lines = [`Saved configuration "${result.config}"${family} at ${result.path}.`];
        if (result.not_applied?.length) lines.push(`The toolkit could not be told: ${result.not_applied.join("; ")}.`);
        return answer(result, lines.join("\n"));
      },
    }),

    defineTool({
      name: "list_configs",
      title: "List training configs",
      description: "List the training configurations saved on the toolkit.",
      input: z.object({}),
      output: z.object({ configs: z.array(z.string()) }),
      annotations: readOnly,
      async run(_args, { upstream }) {
        const names = await upstream.listConfigs();
        const result = { configs: names };
        return answer(
          result,
          names.length ? `${plural(names.length, "configuration")}: ${names.join(", ")}` : "No configurations yet.",
        );
      },
    }),

    defineTool({
      name: "get_config",
      title: "Get training config",
      description: "Read one training configuration (the YAML, as an object).",
      input: z.object({ name: safeName("name").describe("Name of the configuration") }),
      // The YAML's object is relayed as it is: ai-toolkit's config format is its own.
      output: z.object({ config: z.unknown() }),
      annotations: readOnly,
      async run({ name }, { upstream }) {
        const result = { config: await upstream.getConfig(name) };
        return answer(result, `Configuration "${name}":\n${JSON.stringify(result.config, null, 2)}`);
      },
    }),
  ];
}

/** What the toolkit says it saved, and what the Worker adds (loose: the toolkit may add fields). */
const configSavedOutput = z.looseObject({
  status: z.string(),
  config: z.string(),
  path: z.string(),
  job_id: z.string().optional(),
  family: z.string().optional(),
  not_applied: z.array(z.string()).optional(),
  replaced: z.boolean().optional(),
});
