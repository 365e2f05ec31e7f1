import { z } from "zod";
import { plural } from "../../common";
import { operations } from "../../toolkit/bridge/operations";
import { baseModel, datasetPath, safeName, testPrompt, triggerWord } from "../fields";
import { answer, defineTool, idempotentWrite, readOnly, type DefinedTool, type ToolContext } from "../tool";

/**
 * create_training_config, list_configs, get_config: training configurations (YAML on the
 * toolkit). Their answers are the toolkit's, relayed as they are, so their output schemas are
 * the toolkit protocol's own (loose: the toolkit may add fields, and they are passed on).
 */
export function configTools({ toolkit, config }: ToolContext): DefinedTool[] {
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
          `Absolute path of the dataset folder on the toolkit, under ${config.DATASETS_ROOT}/`,
        ),
        resolution: z
          .number()
          .int("resolution must be a whole number")
          .min(256, "resolution must be at least 256")
          .max(2048, "resolution must be at most 2048")
          .multipleOf(64, "resolution must be a multiple of 64")
          .default(512)
          .describe("Training resolution in pixels (256-2048, multiple of 64)"),
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
        low_vram: z.boolean().default(true).describe("Quantize and offload to fit GPUs with less memory"),
        trigger_word: triggerWord
          .optional()
          .describe("Word that activates the LoRA in prompts: one line, no control or invisible characters"),
        test_prompts: z
          .array(testPrompt)
          .max(20, "at most 20 test_prompts")
          .optional()
          .describe("Prompts sampled during training to preview progress"),
      }),
      output: operations.create_training_config.result,
      annotations: idempotentWrite,
      async run(args) {
        const result = await toolkit.run("create_training_config", args);
        return answer(result, `Saved configuration "${result.config}" at ${result.path}.`);
      },
    }),

    defineTool({
      name: "list_configs",
      title: "List training configs",
      description: "List the training configurations saved on the toolkit.",
      input: z.object({}),
      output: operations.list_configs.result,
      annotations: readOnly,
      async run() {
        const result = await toolkit.run("list_configs");
        const names = result.configs;
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
      output: operations.get_config.result,
      annotations: readOnly,
      async run({ name }) {
        const result = await toolkit.run("get_config", { name });
        return answer(result, `Configuration "${name}":\n${JSON.stringify(result.config, null, 2)}`);
      },
    }),
  ];
}
