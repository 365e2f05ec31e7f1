import { z } from "zod";
import { baseModel, datasetPath, safeName, testPrompt, triggerWord } from "../fields";
import { idempotentWrite, readOnly, type ToolGroup } from "../context";
import { guarded, ok } from "../result";
import { plural } from "../../common";

/** create_training_config, list_configs, get_config: training configurations (YAML on the toolkit). */
export const configTools: ToolGroup = (server, { toolkit, config }) => {
  server.registerTool(
    "create_training_config",
    {
      title: "Create training config",
      description:
        "Create (or overwrite) a LoRA training configuration on the toolkit. The dataset must already be on the toolkit (upload_dataset or create_dataset_upload).",
      inputSchema: z.object({
        name: safeName("name").describe("Name of the configuration; also the name of the trained LoRA"),
        model_name: baseModel(config.MODELS_ROOT).describe(
          `Base model: a Hugging Face model id "owner/name" (e.g. black-forest-labs/FLUX.1-dev), or the absolute path of a model folder or file on the toolkit under ${config.MODELS_ROOT}/ (MODELS_ROOT). Nothing else is accepted.`,
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
        rank: z.number().int("rank must be a whole number").min(1, "rank must be at least 1").max(256, "rank must be at most 256").default(16).describe("LoRA rank (network dim), 1-256"),
        alpha: z.number().int("alpha must be a whole number").min(1, "alpha must be at least 1").max(256, "alpha must be at most 256").default(16).describe("LoRA alpha, 1-256"),
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
      annotations: { ...idempotentWrite, title: "Create training config" },
    },
    (args) =>
      guarded(async () => {
        const result = await toolkit.run("create_training_config", args);
        return ok(result, `Saved configuration "${result.config}" at ${result.path}.`);
      }),
  );

  server.registerTool(
    "list_configs",
    {
      title: "List training configs",
      description: "List the training configurations saved on the toolkit.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "List training configs" },
    },
    () =>
      guarded(async () => {
        const result = await toolkit.run("list_configs");
        const names = result.configs;
        return ok(result, names.length ? `${plural(names.length, "configuration")}: ${names.join(", ")}` : "No configurations yet.");
      }),
  );

  server.registerTool(
    "get_config",
    {
      title: "Get training config",
      description: "Read one training configuration (the YAML, as an object).",
      inputSchema: z.object({ name: safeName("name").describe("Name of the configuration") }),
      annotations: { ...readOnly, title: "Get training config" },
    },
    ({ name }) =>
      guarded(async () => {
        const result = await toolkit.run("get_config", { name });
        return ok(result, `Configuration "${name}":\n${JSON.stringify(result.config, null, 2)}`);
      }),
  );
};
