// The simulated trainer: stands in for `python run.py CONFIG` on machines without ai-toolkit or
// a GPU. It prints what ai-toolkit prints (a preamble, tqdm progress rewritten with `\r`, a
// Python traceback when it crashes) and writes a valid LoRA-shaped safetensors file, so the
// Worker's log parsing, job tracking and model download are exercised against the real shapes.
//
// Usage: node simulated-trainer.ts CONFIG.yaml   (stdout and stderr are the job's log)
//
// Environment knobs:
//   SIM_STEP_MS          time per step in ms (default 20)
//   SIM_STEPS            run this many steps whatever the config says
//   SIM_FAIL_AT_STEP     crash at this step with a Python-style CUDA OOM traceback, exit code 1
//   SIM_MODEL_BYTES      make the output file exactly this many bytes (written in chunks)
//   SIM_MININTERVAL_MS   minimum time between two tqdm refreshes (default 100, as tqdm's 0.1 s)

import { readdirSync, readFileSync, writeSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { parse } from "yaml";

import { noiseSource } from "./noise.ts";
import { writeSafetensors, type TensorSpec } from "./safetensors.ts";
import { isFluxModel, readTrainerSettings, type TrainerSettings } from "./training-config.ts";
import { formatTqdmLine, pythonExp, TqdmWriter } from "./tqdm.ts";

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

// Writes go straight to the file descriptors, synchronously: the log is a file, and a crash
// must not lose the lines printed just before it.
const out = (text: string): void => {
  writeSync(1, text);
};
const err = (text: string): void => {
  writeSync(2, text);
};

function countImages(folder: string): number {
  try {
    return readdirSync(folder).filter((f) => /\.(png|jpe?g|webp)$/i.test(f)).length;
  } catch {
    return 0;
  }
}

function printPreamble(settings: TrainerSettings, images: number): void {
  const flux = isFluxModel(settings.modelName);
  out("Running 1 job\n");
  out("#############################################\n");
  out(`# Running job: ${settings.name}\n`);
  out("#############################################\n\n\n");
  out("Running  1 process\n");
  out(`Loading ${flux ? "Flux" : "Stable Diffusion"} model\n`);
  out(`Loading ${flux ? "transformer" : "unet"} from ${settings.modelName}\n`);
  out(`create LoRA network. base dim (rank): ${settings.rank}, alpha: ${settings.alpha}\n`);
  out("neuron dropout: p=None, rank dropout: p=None, module dropout: p=None\n");
  out("create LoRA for Text Encoder: 0 modules.\n");
  out(`create LoRA for U-Net: ${flux ? 494 : 192} modules.\n`);
  out("enable LoRA for U-Net\n");
  out(`Dataset: ${settings.datasetPath}\n`);
  out("  -  Preprocessing image dimensions\n");
  out(`  -  Found ${images} images\n`);
  out(`Bucket sizes for ${settings.datasetPath}:\n`);
  out("1 buckets made\n");
}

/** What ai-toolkit prints when CUDA runs out of memory mid-run, then exit code 1. */
function crash(): never {
  out("\n");
  const message =
    "CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 23.65 GiB total capacity; " +
    "21.87 GiB already allocated; 1.12 GiB free; 22.01 GiB reserved in total by PyTorch)";
  out(`Error running job: ${message}\n`);
  err(
    [
      "Traceback (most recent call last):",
      '  File "/ai-toolkit/run.py", line 90, in <module>',
      "    main()",
      '  File "/ai-toolkit/run.py", line 86, in main',
      "    raise e",
      '  File "/ai-toolkit/run.py", line 78, in main',
      "    job.run()",
      '  File "/ai-toolkit/jobs/ExtensionJob.py", line 22, in run',
      "    process.run()",
      '  File "/ai-toolkit/jobs/process/BaseSDTrainProcess.py", line 1885, in run',
      "    loss_dict = self.hook_train_loop(batch_list)",
      '  File "/ai-toolkit/extensions_built_in/sd_trainer/SDTrainer.py", line 1702, in hook_train_loop',
      "    loss = self.train_single_accumulation(batch)",
      '  File "/ai-toolkit/extensions_built_in/sd_trainer/SDTrainer.py", line 1611, in train_single_accumulation',
      "    self.accelerator.backward(loss)",
      `RuntimeError: ${message}`,
      "",
    ].join("\n"),
  );
  process.exit(1);
}

function loraTensors(settings: TrainerSettings): TensorSpec[] {
  const flux = isFluxModel(settings.modelName);
  const width = 64;
  const modules = flux
    ? ["transformer.single_transformer_blocks.0.attn.to_q", "transformer.single_transformer_blocks.0.attn.to_k"]
    : [
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q",
        "lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_k",
      ];
  const [down, up] = flux ? ["lora_A", "lora_B"] : ["lora_down", "lora_up"];
  const tensors: TensorSpec[] = [];
  for (const module of modules) {
    tensors.push({ name: `${module}.${down}.weight`, shape: [settings.rank, width], value: (i) => Math.sin(i) * 0.02 });
    tensors.push({ name: `${module}.${up}.weight`, shape: [width, settings.rank], value: (i) => Math.cos(i) * 0.001 });
    if (!flux) tensors.push({ name: `${module}.alpha`, shape: [], value: () => settings.alpha });
  }
  return tensors;
}

function saveModel(settings: TrainerSettings, steps: number, targetBytes: number | undefined): string {
  const folder = settings.trainingFolder === "" ? process.cwd() : settings.trainingFolder;
  const file = path.join(folder, `${settings.name}.safetensors`);
  writeSafetensors(file, {
    metadata: {
      format: "pt",
      name: settings.name,
      ss_output_name: settings.name,
      ss_network_module: "networks.lora",
      ss_network_dim: String(settings.rank),
      ss_network_alpha: String(settings.alpha),
      ss_base_model: settings.modelName,
      ss_steps: String(steps),
      ss_learning_rate: String(settings.lr),
      software: "ai-toolkit-edge-mcp simulated trainer",
    },
    tensors: loraTensors(settings),
    targetBytes,
    fillerName: isFluxModel(settings.modelName)
      ? "transformer.simulated_padding.weight"
      : "lora_unet_simulated_padding.weight",
  });
  return file;
}

async function train(configPath: string): Promise<void> {
  const settings = readTrainerSettings(parse(readFileSync(configPath, "utf8")), path.parse(configPath).name);
  const steps = Math.max(1, Math.floor(envNumber("SIM_STEPS") ?? settings.steps));
  const stepMs = Math.max(0, envNumber("SIM_STEP_MS") ?? 20);
  const minInterval = Math.max(0, envNumber("SIM_MININTERVAL_MS") ?? 100);
  const failAt = envNumber("SIM_FAIL_AT_STEP");
  const modelBytes = envNumber("SIM_MODEL_BYTES");

  printPreamble(settings, countImages(settings.datasetPath));

  const noise = noiseSource(settings.name);
  const lr = pythonExp(settings.lr, 1);
  const tqdm = new TqdmWriter(out);
  const started = Date.now();
  const line = (n: number, postfix: string): string =>
    formatTqdmLine({ desc: settings.name, n, total: steps, elapsedSeconds: (Date.now() - started) / 1000, postfix });

  tqdm.refresh(line(0, ""));
  let lastRefresh = Date.now();
  let postfix = "";
  for (let step = 1; step <= steps; step++) {
    await sleep(stepMs);
    if (failAt !== undefined && step >= failAt) crash();
    // A loss that falls fast then flattens, with a little noise, like a LoRA run.
    const t = step / steps;
    const loss = 0.11 + 0.33 * Math.exp(-4 * t) + noise() * 0.03;
    postfix = `lr: ${lr} loss: ${pythonExp(loss, 3)}`;
    const saving = step % settings.sampleEvery === 0 && step < steps;
    if (saving || step === steps || Date.now() - lastRefresh >= minInterval) {
      tqdm.refresh(line(step, postfix));
      lastRefresh = Date.now();
    }
    if (saving) {
      // ai-toolkit pauses the bar, prints, then resumes it on a fresh line.
      tqdm.close();
      out(`Saving at step ${step}\n`);
      tqdm.refresh(line(step, postfix));
    }
  }
  tqdm.close();
  const file = saveModel(settings, steps, modelBytes);
  out(`Saved to ${file}\n`);
}

// A trainer whose server died must not run on alone: the server is its only reader.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) process.exit(143);
}, 1000).unref();

const configPath = process.argv[2];
if (configPath === undefined) {
  err("usage: node simulated-trainer.ts CONFIG.yaml\n");
  process.exit(2);
}
await train(configPath);
