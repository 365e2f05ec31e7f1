// start_training, get_training_status, stop_training, list_training_jobs, get_training_logs,
// get_training_info.

import { access } from "node:fs/promises";

import { progressFromLines, pythonTail, readLogLines } from "../log-reader.ts";
import { safeName } from "../paths.ts";
import { InBandError, listDir, requireString, type ToolArgs, type ToolHandler, type ToolResult } from "./common.ts";

/** The original looks a job_id up as given; a non-string simply is not found. */
function jobIdOf(args: ToolArgs): string | null {
  const value = args.job_id;
  return typeof value === "string" ? value : null;
}

const startTraining: ToolHandler = async (args, { layout, jobs }) => {
  const name = requireString(args, "config_name");
  if (safeName(name) === null) throw new InBandError("Configuration not found");
  const file = layout.configFile(name);
  try {
    await access(file);
  } catch {
    throw new InBandError("Configuration not found");
  }
  try {
    const job = await jobs.start(name, file);
    return { status: "success", job_id: job.id, pid: job.pid };
  } catch (error) {
    throw new InBandError(error instanceof Error ? error.message : String(error));
  }
};

const getTrainingStatus: ToolHandler = async (args, { jobs }): Promise<ToolResult> => {
  const id = jobIdOf(args);
  const job = id === null ? undefined : jobs.get(id);
  if (!job) return { status: "error", message: "Job not found" };
  let progress = 0;
  try {
    progress = progressFromLines((await readLogLines(job.logFile)) ?? []);
  } catch {
    // As the original: an unreadable log leaves progress at 0.
  }
  return { status: job.status, job_id: job.id, progress, config: job.config };
};

const stopTraining: ToolHandler = async (args, { jobs }) => {
  const id = jobIdOf(args);
  if (id === null || !(await jobs.stop(id))) throw new InBandError("Job not found or already stopped");
  return { status: "success", job_id: id };
};

const listTrainingJobs: ToolHandler = async (_args, { jobs }) => ({
  jobs: jobs.list().map((job) => ({ job_id: job.id, status: job.status, config: job.config })),
});

const getTrainingLogs: ToolHandler = async (args, { jobs }): Promise<ToolResult> => {
  const id = jobIdOf(args);
  const rawLines = args.lines ?? 100;
  if (typeof rawLines !== "number" || !Number.isInteger(rawLines)) {
    // The original fails in Python here (`-"5"`); the envelope reports it.
    throw new Error(`bad operand type for unary -: '${typeof rawLines}'`);
  }
  const job = id === null ? undefined : jobs.get(id);
  const missing = { job_id: id, logs: [], lines: 0 };
  if (!job) return missing;
  let all: string[] | null;
  try {
    all = await readLogLines(job.logFile);
  } catch (error) {
    throw new InBandError(`Failed to read logs: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (all === null) return missing;
  return { job_id: job.id, logs: pythonTail(all, rawLines), total_lines: all.length };
};

const getTrainingInfo: ToolHandler = async (_args, { layout, jobs }) => {
  const configs = (await listDir(layout.dir("config"))).filter((e) => e.isFile() && e.name.endsWith(".yaml"));
  const datasets = (await listDir(layout.dir("datasets"))).filter((e) => e.isDirectory());
  const models = (await listDir(layout.dir("outputs"))).filter(
    (e) => e.isFile() && /\.(safetensors|ckpt)$/.test(e.name),
  );
  return {
    total_jobs: jobs.list().length,
    active_jobs: jobs.activeCount(),
    configs: configs.length,
    datasets: datasets.length,
    models: models.length,
  };
};

export const trainingTools = {
  start_training: startTraining,
  get_training_status: getTrainingStatus,
  stop_training: stopTraining,
  list_training_jobs: listTrainingJobs,
  get_training_logs: getTrainingLogs,
  get_training_info: getTrainingInfo,
} satisfies Record<string, ToolHandler>;
