import type { ToolkitClient } from "../toolkit/bridge/client";
import { isRecord } from "../toolkit/bridge/operations";
import { jobIndexFor, type IndexEntry } from "./job-index";
import type { Estimate } from "./state";
import { trainingJobFor } from "./training-job";
import { formatDuration, type JobView } from "./view";

/**
 * Starting and listing jobs: the steps that involve both the toolkit and the job records.
 * Toolkit failures are thrown as ToolkitError here, in the Worker, so the MCP layer maps them
 * in its one place; the Durable Objects only ever return answers.
 */

export interface StartedJob {
  job: JobView;
  pid: number | null;
  estimate: Estimate | null;
}

export async function startJob(env: Env, toolkit: ToolkitClient, configName: string, now = Date.now()): Promise<StartedJob> {
  const plan = await readPlan(toolkit, configName);
  const estimate = plan.steps === undefined ? undefined : await estimateRun(env, toolkit.transport.target, plan.baseModel, plan.steps);
  const started = await toolkit.run("start_training", { config_name: configName });
  const job = await trainingJobFor(env, started.job_id).begin({
    jobId: started.job_id,
    config: configName,
    startedAt: now,
    ...(plan.jobName === undefined ? {} : { jobName: plan.jobName }),
    ...(plan.baseModel === undefined ? {} : { baseModel: plan.baseModel }),
    ...(plan.steps === undefined ? {} : { totalSteps: plan.steps }),
    ...(estimate === undefined ? {} : { estimate }),
  });
  return { job, pid: started.pid ?? null, estimate: estimate ?? null };
}

/** Job name, base model and step count from the saved ai-toolkit config; missing parts stay unknown. */
async function readPlan(toolkit: ToolkitClient, configName: string): Promise<{ jobName?: string; baseModel?: string; steps?: number }> {
  try {
    const { config } = await toolkit.run("get_config", { name: configName });
    const job = isRecord(config) && isRecord(config.config) ? config.config : undefined;
    const jobName = typeof job?.name === "string" && job.name.trim() !== "" ? { jobName: job.name.trim() } : {};
    const processes = job?.process;
    const first: unknown = Array.isArray(processes) ? processes[0] : undefined;
    if (!isRecord(first)) return jobName;
    const model = isRecord(first.model) ? first.model.name_or_path : undefined;
    const steps = isRecord(first.train) ? first.train.steps : undefined;
    return {
      ...jobName,
      ...(typeof model === "string" && model !== "" ? { baseModel: model } : {}),
      ...(typeof steps === "number" && steps > 0 ? { steps } : {}),
    };
  } catch {
    // No estimate is better than no start: start_training itself says if the config is missing.
    return {};
  }
}

/**
 * Seconds per step as a rule of thumb on a 24 GB card, used until a run of the same base model
 * has finished on this toolkit. Deliberately labelled a guess: GPUs differ by 5x.
 */
function guessSecondsPerStep(baseModel: string | undefined): number {
  const name = (baseModel ?? "").toLowerCase();
  if (/flux|sd3|stable-diffusion-3|hidream|qwen|wan/.test(name)) return 1.5;
  if (/xl/.test(name)) return 0.8;
  return 0.5;
}

export async function estimateRun(env: Env, target: string, baseModel: string | undefined, steps: number): Promise<Estimate> {
  const speed = baseModel === undefined ? null : await jobIndexFor(env, target).speedOf(baseModel);
  if (speed) {
    const seconds = Math.round(speed.secondsPerStep * steps);
    return {
      seconds,
      secondsPerStep: speed.secondsPerStep,
      steps,
      basis: "history",
      note: `about ${formatDuration(seconds)}: ${steps} steps at ${speed.secondsPerStep.toFixed(2)} s/step, the median of ${speed.runs} earlier run(s) of ${baseModel ?? "this model"}`,
    };
  }
  const secondsPerStep = guessSecondsPerStep(baseModel);
  const seconds = Math.round(secondsPerStep * steps);
  return {
    seconds,
    secondsPerStep,
    steps,
    basis: "guess",
    note: `a guess of about ${formatDuration(seconds)} (${steps} steps at a typical ${secondsPerStep} s/step): no earlier run of ${baseModel ?? "this model"} has finished here yet`,
  };
}

/**
 * Jobs list_training_jobs adopts at once. Each adoption asks the toolkit (up to a poll timeout
 * when it is slow), so one after another would add up; all at once would flood a toolkit that
 * just came back with a long list.
 */
const ADOPT_CONCURRENCY = 4;

export interface JobList {
  jobs: IndexEntry[];
  toolkit_reachable: boolean;
  notice: string | null;
}

/**
 * The jobs the Worker has recorded, plus any the toolkit runs that the Worker never saw start
 * (they are adopted, so they get tracked from now on). Works without the toolkit.
 */
export async function listJobs(env: Env, toolkit: ToolkitClient): Promise<JobList> {
  const index = jobIndexFor(env, toolkit.transport.target);
  let reachable = true;
  let notice: string | null = null;
  try {
    const listed = await toolkit.run("list_training_jobs", {}, { timeoutMs: 5_000 });
    await eachLimited(listed.jobs, ADOPT_CONCURRENCY, async (job) => {
      if (!(await index.has(job.job_id))) await trainingJobFor(env, job.job_id).status(job.job_id);
    });
  } catch (error) {
    reachable = false;
    notice = `the toolkit could not be asked (${error instanceof Error ? error.message : String(error)}): these are the jobs the Worker has recorded, as last known`;
  }
  return { jobs: await index.list(), toolkit_reachable: reachable, notice };
}

/** Runs `work` on every item, at most `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < items.length; index = next++) await work(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
