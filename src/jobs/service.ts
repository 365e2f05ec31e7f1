import { errorMessage, isRecord } from "../common";
import { ToolkitError } from "../toolkit/errors";
import type { RunLogs, Upstream } from "../toolkit/upstream";
import { jobIndexFor, type IndexEntry } from "./job-index";
import { isTerminal, type Estimate } from "./state";
import { trainingJobFor, type JobLookup } from "./training-job";
import { formatDuration, type JobView } from "./view";

/**
 * Starting, stopping, listing jobs and reading their logs: the steps that involve both the toolkit and the job records.
 * Toolkit failures are thrown as ToolkitError here, in the Worker, so the MCP layer maps them
 * in its one place; the Durable Objects only ever return answers.
 */

export interface StartedJob {
  job: JobView;
  pid: number | null;
  estimate: Estimate | null;
  queuePosition: number | null;
  /** What the upstream said about the start worth passing on. */
  note: string | null;
}

export async function startJob(
  env: Env,
  upstream: Upstream,
  configName: string,
  now = Date.now(),
): Promise<StartedJob> {
  const plan = await readPlan(upstream, configName);
  const estimate =
    plan.steps === undefined
      ? undefined
      : await estimateRun(env, upstream.transport.target, plan.baseModel, plan.steps);
  const started = await upstream.startRun(configName);
  const job = await trainingJobFor(env, started.job_id).begin({
    jobId: started.job_id,
    config: configName,
    startedAt: now,
    ...(plan.jobName === undefined ? {} : { jobName: plan.jobName }),
    ...(plan.baseModel === undefined ? {} : { baseModel: plan.baseModel }),
    ...(plan.steps === undefined ? {} : { totalSteps: plan.steps }),
    ...(estimate === undefined ? {} : { estimate }),
    ...(started.status === "queued" && started.queue_position !== undefined
      ? { queuePosition: started.queue_position }
      : {}),
  });
  return {
    job,
    pid: started.pid ?? null,
    estimate: estimate ?? null,
    queuePosition: started.queue_position ?? null,
    note: started.note ?? null,
  };
}

export type StopOutcome =
  /** The job had ended before the stop: nothing was stopped. `raced`: it ended while the stop was on its way. */
  | { stopped: false; job: JobView; raced: boolean }
  /** Stopped; `job` is null when the Worker has no record of it (the toolkit knew it, the Worker did not). */
  | { stopped: true; job: JobView | null; by: string };

/**
 * Stops a job unless it has already ended, and records `by` (who asked) and when: the toolkit
 * keeps neither. A stop that races the job's own end is reported as "already ended".
 */
export async function stopJob(env: Env, upstream: Upstream, jobId: string, by: string): Promise<StopOutcome> {
  const stub = trainingJobFor(env, jobId);
  const before = await stub.status(jobId, { maxAgeMs: 0 });
  if (before.found && isTerminal(before.job.status)) return { stopped: false, job: before.job, raced: false };
  try {
    await upstream.stopRun(jobId);
  } catch (error) {
    // "Job not found or already stopped": the job may have ended a moment ago.
    if (!(error instanceof ToolkitError) || error.kind !== "tool") throw error;
    const after = await stub.status(jobId, { maxAgeMs: 0 });
    if (after.found && isTerminal(after.job.status)) return { stopped: false, job: after.job, raced: true };
    throw error;
  }
  const after = await stub.markStopped(by, Date.now());
  return { stopped: true, job: after.found ? after.job : null, by };
}

export type JobLogs =
  | { source: "toolkit"; result: RunLogs }
  /** The toolkit could not answer (`problem` says why): the tail the Worker stored instead. */
  | { source: "stored"; lines: string[]; stored: number; problem: string };

/**
 * The newest `lines` of a job's log: the toolkit's, or when it cannot answer (unreachable, or
 * restarted and forgot the job) the tail the job's object stored while the job ran.
 */
export async function readLogs(env: Env, upstream: Upstream, jobId: string, lines: number): Promise<JobLogs> {
  const stored = await trainingJobFor(env, jobId).storedLogs(lines);
  try {
    const result = await upstream.runLogs(jobId, lines);
    if (result.logs.length > 0 || stored.lines.length === 0) return { source: "toolkit", result };
    return { source: "stored", ...stored, problem: "the toolkit has no log for this job any more (it restarted)" };
  } catch (error) {
    if (!(error instanceof ToolkitError) || stored.lines.length === 0) throw error;
    return { source: "stored", ...stored, problem: error.message };
  }
}

/** Job name, base model and step count from the saved ai-toolkit config; missing parts stay unknown. */
async function readPlan(
  upstream: Upstream,
  configName: string,
): Promise<{ jobName?: string; baseModel?: string; steps?: number }> {
  try {
    const config = await upstream.getConfig(configName);
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

export async function estimateRun(
  env: Env,
  target: string,
  baseModel: string | undefined,
  steps: number,
): Promise<Estimate> {
  const speed = baseModel === undefined ? null : await jobIndexFor(env, target).speedOf(baseModel);
  if (speed) {
    const seconds = Math.round(speed.secondsPerStep * steps);
    return {
      seconds,
      secondsPerStep: speed.secondsPerStep,
      steps,
      basis: "history",
      note:
        `about ${formatDuration(seconds)}: ${steps} steps at ${speed.secondsPerStep.toFixed(2)} s/step, the ` +
        `median of ${speed.runs} earlier run(s) of ${baseModel ?? "this model"}`,
    };
  }
  const secondsPerStep = guessSecondsPerStep(baseModel);
  const seconds = Math.round(secondsPerStep * steps);
  return {
    seconds,
    secondsPerStep,
    steps,
    basis: "guess",
    note:
      `a guess of about ${formatDuration(seconds)} (${steps} steps at a typical ${secondsPerStep} s/step): ` +
      `no earlier run of ${baseModel ?? "this model"} has finished here yet`,
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
export async function listJobs(env: Env, upstream: Upstream): Promise<JobList> {
  const index = jobIndexFor(env, upstream.transport.target);
  let reachable = true;
  let notice: string | null = null;
  try {
    const listed = await upstream.listRuns({ timeoutMs: 5_000 });
    await eachLimited(listed, ADOPT_CONCURRENCY, async (job) => {
      if (!(await index.has(job.job_id))) await trainingJobFor(env, job.job_id).status(job.job_id);
    });
  } catch (error) {
    reachable = false;
    notice =
      `the toolkit could not be asked (${errorMessage(error)}): these are the jobs the Worker has recorded, ` +
      `as last known`;
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

/** How often a wait re-reads the job; the job's own freshness window bounds the toolkit calls. */
const WAIT_TICK_MS = 2_000;

export interface WaitGoal {
  untilStep?: number;
  untilProgress?: number;
  timeoutSeconds: number;
}

export type WaitOutcome =
  { found: true; job: JobView; reached: string | undefined; waitedSeconds: number } | { found: false; reason: string };

/**
 * Waits until the job reaches the goal or ends, or the timeout passes, or `signal` aborts.
 * `onUpdate` hears of every newer step (for progress notifications).
 */
export async function waitForJob(
  env: Env,
  jobId: string,
  goal: WaitGoal,
  watch: { signal: AbortSignal; onUpdate?: (job: JobView) => Promise<void> },
): Promise<WaitOutcome> {
  const stub = trainingJobFor(env, jobId);
  const started = Date.now();
  const deadline = started + goal.timeoutSeconds * 1000;
  let lastReported = -1;
  for (;;) {
    // A poll stuck on a slow toolkit must not hold the wait past its deadline: then the
    // stored state answers.
    const remaining = Math.max(0, deadline - Date.now());
    const lookup = await beforeDeadline(
      (async (): Promise<JobLookup> => await stub.status(jobId))(),
      remaining,
      async () => await stub.status(jobId, { storedOnly: true }),
    );
    if (!lookup.found) return lookup;
    const job = lookup.job;
    if (watch.onUpdate && job.current_step > lastReported) {
      lastReported = job.current_step;
      await watch.onUpdate(job);
    }
    const reached = reachedGoal(job, goal);
    if (reached || Date.now() + WAIT_TICK_MS > deadline || watch.signal.aborted) {
      return { found: true, job, reached, waitedSeconds: Math.round((Date.now() - started) / 100) / 10 };
    }
    await sleep(WAIT_TICK_MS);
  }
}

/** Why a wait is over, or undefined while it is not. */
function reachedGoal(job: JobView, goal: WaitGoal): string | undefined {
  if (isTerminal(job.status)) return `the job ended (${job.status})`;
  if (goal.untilStep !== undefined && job.current_step >= goal.untilStep)
    return `step ${job.current_step} >= ${goal.untilStep}`;
  if (goal.untilProgress !== undefined && job.progress >= goal.untilProgress)
    return `progress ${job.progress}% >= ${goal.untilProgress}%`;
  return undefined;
}

const TIMED_OUT = Symbol("timed out");

/**
 * The work's answer (or failure) if it comes within `ms`, else the fallback's. Either way the
 * timer is cleared; a late work is left to finish, and a failure it ends with is dropped.
 */
export async function beforeDeadline<T>(work: Promise<T>, ms: number, fallback: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    const winner = await Promise.race([work, deadline]);
    if (winner !== TIMED_OUT) return winner;
  } finally {
    clearTimeout(timer);
  }
  work.catch(() => undefined);
  return fallback();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
