// What the simulated trainer reads from a job's `.job_config.json`, with ai-toolkit's defaults
// (toolkit/config_modules.py) where a key is absent, plus the simulator's own knobs.
//
// Knobs, under `config.process[0].simulate` (ai-toolkit itself would ignore the key):
//   step_ms          time per training step, per sample image and per loading phase
//   fail_at_step     raise while training this step (1-based): status "error", info = the message
//   error            that message (default: ai-toolkit's give-up after three CUDA out-of-memory
//                    errors in a row, with the three "skipping batch" banners before it)
//   vanish_at_step   disappear while training this step, leaving no word anywhere: no row update,
//                    no exit seen by the queue worker (as when the UI was restarted under a
//                    trainer that then died), so the row stays "running": a stale row

import path from "node:path";

export class ConfigError extends Error {}

export interface TrainerPlan {
  /** `config.name`: checkpoint and bar names. */
  jobName: string;
  /** `process[0].training_folder/<process name or config.name>`: where everything but the log goes. */
  saveRoot: string;
  type: string;
  /** diffusion_trainer and ui_trainer report to the Job row; sd_trainer does not. */
  reportsToUi: boolean;
  processConfig: Record<string, unknown>;
  steps: number;
  startStep: number | null;
  saveEvery: number;
  keepSaves: number;
  sampleEvery: number;
  sampleStartStep: number;
  prompts: number;
  width: number;
  height: number;
  skipFirstSample: boolean;
  forceFirstSample: boolean;
  disableSampling: boolean;
  /** null: log every step (log_every: null); 0: never. */
  logEvery: number | null;
  performanceLogEvery: number;
  lr: number;
  rank: number;
  alpha: number;
  baseModel: string;
  arch: string;
  datasetPath: string;
  stepMs: number | undefined;
  failAtStep: number | undefined;
  error: string;
  vanishAtStep: number | undefined;
}

const REPORTING = new Set(["diffusion_trainer", "ui_trainer"]);
const KNOWN = new Set([...REPORTING, "sd_trainer"]);

export const DEFAULT_ERROR = "OOM during training step 3 times in a row, aborting training";

type Obj = Record<string, unknown>;

const obj = (value: unknown): Obj =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};

function num(value: unknown, fallback: number): number {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

function optionalNum(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** Reads a parsed config the way get_job and the process constructors do; throws ConfigError. */
export function readPlan(config: unknown, cwd: string): TrainerPlan {
  const root = obj(config);
  if (!root.job) throw new ConfigError('config file is invalid. Missing "job" key');
  if (root.job !== "extension") throw new ConfigError(`Unknown job type ${String(root.job)}`);
  const cfg = obj(root.config);
  if (!Array.isArray(cfg.process)) throw new ConfigError('config file is invalid. Missing "config.process" key');
  if (cfg.process.length === 0)
    throw new ConfigError('config file is invalid. "config.process" must be a list of processes');
  const proc = obj(cfg.process[0]);
  if (typeof proc.type !== "string")
    throw new ConfigError('config file is invalid. Missing "config.process[0].type" key');
  if (!KNOWN.has(proc.type)) throw new ConfigError(`config file is invalid. Unknown process type: ${proc.type}`);
  if (typeof cfg.name !== "string" || cfg.name === "") throw new ConfigError("name is required");

  const train = obj(proc.train);
  const save = obj(proc.save);
  const sample = obj(proc.sample);
  const logging = obj(proc.logging);
  const network = obj(proc.network);
  const model = obj(proc.model);
  const simulate = obj(proc.simulate);
  const dataset = obj(Array.isArray(proc.datasets) ? proc.datasets[0] : undefined);
  const samples = Array.isArray(sample.samples) ? sample.samples : Array.isArray(sample.prompts) ? sample.prompts : [];
  const processName = typeof proc.name === "string" && proc.name !== "" ? proc.name : cfg.name;
  const trainingFolder = typeof proc.training_folder === "string" ? proc.training_folder : "";

  return {
    jobName: cfg.name,
    saveRoot: path.resolve(cwd, trainingFolder, processName),
    type: proc.type,
    reportsToUi: REPORTING.has(proc.type),
    processConfig: proc,
    steps: Math.max(0, Math.floor(num(train.steps, 1000))),
    startStep: optionalNum(train.start_step) ?? null,
    saveEvery: Math.max(0, Math.floor(num(save.save_every, 1000))),
    keepSaves: Math.max(0, Math.floor(num(save.max_step_saves_to_keep, 5))),
    sampleEvery: Math.max(0, Math.floor(num(sample.sample_every, 100))),
    sampleStartStep: num(sample.sample_start_step, 0),
    prompts: samples.length,
    width: num(sample.width, 512),
    height: num(sample.height, 512),
    skipFirstSample: train.skip_first_sample === true,
    forceFirstSample: train.force_first_sample === true,
    disableSampling: train.disable_sampling === true,
    logEvery: logging.log_every === null ? null : Math.max(0, Math.floor(num(logging.log_every, 100))),
    performanceLogEvery: Math.max(0, Math.floor(num(proc.performance_log_every, 0))),
    lr: num(train.lr, 1e-6),
    rank: Math.max(1, Math.floor(num(network.linear, 4))),
    alpha: num(network.linear_alpha, 1),
    baseModel: typeof model.name_or_path === "string" ? model.name_or_path : "",
    arch: typeof model.arch === "string" ? model.arch : "",
    datasetPath: path.resolve(cwd, typeof dataset.folder_path === "string" ? dataset.folder_path : ""),
    stepMs: optionalNum(simulate.step_ms),
    failAtStep: optionalNum(simulate.fail_at_step),
    error: typeof simulate.error === "string" ? simulate.error : DEFAULT_ERROR,
    vanishAtStep: optionalNum(simulate.vanish_at_step),
  };
}
