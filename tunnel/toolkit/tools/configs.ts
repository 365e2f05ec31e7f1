// create_training_config, list_configs, get_config.

import { mkdir, readFile, writeFile } from "node:fs/promises";

import { parse, stringify } from "yaml";

import { safeName } from "../paths.ts";
import { buildTrainingConfig, CONFIG_DEFAULTS } from "../training-config.ts";
import {
  InBandError,
  isErrno,
  type JsonValue,
  listDir,
  optionalBool,
  optionalInt,
  optionalString,
  optionalStringArray,
  requireString,
  type ToolHandler,
} from "./common.ts";

const createTrainingConfig: ToolHandler = async (args, { layout }) => {
  const name = requireString(args, "name");
  if (safeName(name) === null)
    throw new InBandError(`Invalid config name: ${JSON.stringify(name)} (no path separators or '..')`);
  const config = buildTrainingConfig({
    name,
    modelName: requireString(args, "model_name"),
    // Not checked, like the original: ai-toolkit reports a missing folder when the run starts.
    datasetPath: requireString(args, "dataset_path"),
    resolution: optionalInt(args, "resolution", CONFIG_DEFAULTS.resolution),
    steps: optionalInt(args, "steps", CONFIG_DEFAULTS.steps),
    rank: optionalInt(args, "rank", CONFIG_DEFAULTS.rank),
    alpha: optionalInt(args, "alpha", CONFIG_DEFAULTS.alpha),
    lowVram: optionalBool(args, "low_vram", CONFIG_DEFAULTS.lowVram),
    triggerWord: optionalString(args, "trigger_word", ""),
    testPrompts: optionalStringArray(args, "test_prompts"),
  });
  const file = layout.configFile(name);
  await mkdir(layout.dir("config"), { recursive: true });
  // Overwrites an existing config of the same name without a word, as the original does.
  await writeFile(file, stringify(config));
  return { status: "success", config: name, path: layout.toVirtual(file) };
};

const listConfigs: ToolHandler = async (_args, { layout }) => {
  const entries = await listDir(layout.dir("config"));
  const configs = entries
    .filter((e) => e.isFile() && e.name.endsWith(".yaml"))
    .map((e) => e.name.slice(0, -".yaml".length));
  return { configs };
};

const getConfig: ToolHandler = async (args, { layout }) => {
  const name = requireString(args, "name");
  // A name that could point outside the config folder cannot name a config there.
  if (safeName(name) === null) throw new InBandError("Configuration not found");
  let text: string;
  try {
    text = await readFile(layout.configFile(name), "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) throw new InBandError("Configuration not found");
    throw new InBandError(`Failed to read config file: ${String(error)}`);
  }
  try {
    // YAML parses to plain JSON-compatible data here (no custom tags are enabled).
    return { config: (parse(text) as JsonValue | undefined) ?? null };
  } catch (error) {
    throw new InBandError(`Invalid YAML format: ${error instanceof Error ? error.message : String(error)}`);
  }
};

export const configTools = {
  create_training_config: createTrainingConfig,
  list_configs: listConfigs,
  get_config: getConfig,
} satisfies Record<string, ToolHandler>;
