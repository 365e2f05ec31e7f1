import { capitalize } from "../../common";
import { ToolkitError } from "../errors";
import type { ListedRun, RunLogs, RunStarted } from "../upstream";
import type { UiClient } from "./client";
import { UI } from "./failures";
import type { UiCallOptions } from "./http";
import { configNotFound, isActive, jobNotFound, knownJobId, notFoundOn404, trainJobs } from "./job-lookup";
import { queuePlace, type UiQueuePlace } from "./progress";
import type { UiJob } from "./schemas";

/**
 * Training runs on ai-toolkit's UI: starting a job (queue it and turn its GPU's queue on),
 * stopping it, reading its log, listing them. The run's id is the UI job's id.
 */

export async function startUiRun(client: UiClient, configName: string): Promise<RunStarted> {
  const jobs = await trainJobs(client);
  const job = jobs.find((row) => row.name === configName);
  if (!job) throw configNotFound(configName);
  if (job.status === "stopping") {
    throw new ToolkitError(
      "tool",
      `the training job ${job.name} is still stopping on ${UI}: start it again once it has stopped ` +
        `(get_training_status with job_id ${job.id} shows when)`,
    );
  }
  if (isActive(job)) {
    // Starting again would re-queue a running job (the UI's /start sets "queued" whatever the
    // row says) and move a waiting one to the back of its queue.
    const place = queuePlace(job, jobs);
    const where = job.status === "running" ? `is already running (step ${job.step})` : `is already queued`;
    return answerOf(job, place, `the training job ${job.name} ${where}; it was not started again`);
  }

  const started = await client.start(job.id);
  const resumes =
    job.step > 0 ? `; ai-toolkit resumes it from its newest checkpoint (it had reached step ${job.step})` : "";
  if (!started.job) {
    return {
      status: "queued",
      job_id: job.id,
      note: sentence(
        `the training job ${job.name} is queued and its GPU's queue is on, but reading it back failed ` +
          `(${started.readFailure ?? "no answer"}): get_training_status shows where it is${resumes}`,
      ),
    };
  }
  return answerOf(started.job, started.place, startNote(started.job, started.place) + resumes);
}

function answerOf(job: UiJob, place: UiQueuePlace | null, note: string): RunStarted {
  return {
    status: job.status,
    job_id: job.id,
    pid: job.pid ?? undefined,
    // Only a job waiting behind others has a place worth giving.
    queue_position: place && (place.position > 1 || place.runningJob !== null) ? place.position : undefined,
    note: sentence(note),
  };
}

/** RunStarted.note is a sentence the tool passes on after its own. */
function sentence(text: string): string {
  return `${capitalize(text)}.`;
}

function startNote(job: UiJob, place: UiQueuePlace | null): string {
  if (job.status === "running") return `the training job ${job.name} is running`;
  if (job.status !== "queued") return `the training job ${job.name} is ${job.status}: ${job.info || "read its log"}`;
  if (!place) return `the training job ${job.name} is queued`;
  const gpu = `GPU ${job.gpu_ids}`;
  if (place.runningJob !== null) {
    const behind = place.position > 1 ? ` and ${place.position - 1} queued before it` : "";
    return (
      `the training job ${job.name} is queued on ${gpu} (place ${place.position} of ${place.queued}): it waits ` +
      `for the job ${place.runningJob}${behind} to finish`
    );
  }
  if (place.position > 1) {
    return `the training job ${job.name} is queued on ${gpu} (place ${place.position} of ${place.queued})`;
  }
  return `the training job ${job.name} is queued on ${gpu} and is next: ${UI} starts it within seconds`;
}

/**
 * A running job gets the UI's stop (SIGINT to the trainer, which saves and exits); a queued one
 * is marked stopped, because the UI's stop only sets a flag on a row without a process and
 * leaves it queued. That flag is also what a trainer started in between reads, so it stops too.
 */
export async function stopUiRun(client: UiClient, jobId: string): Promise<void> {
  const id = knownJobId(jobId);
  const job = await client.job(id);
  if (!job) throw jobNotFound(jobId, `${UI} has no job with that id (it was deleted, or never existed)`);
  if (!isActive(job)) throw jobNotFound(jobId, `${UI} says the job ${job.name} is ${job.status}`);
  // A second SIGINT would interrupt the trainer's own clean-up (saving the checkpoint).
  if (job.status === "stopping") return;
  try {
    if (job.status === "queued") await client.markStopped(id);
    else await client.stop(id);
  } catch (error) {
    notFoundOn404(jobId, error);
  }
}

/** The newest `lines` lines of the job's log.txt: the first read of /log gives the file's last ~5 MB. */
export async function uiRunLogs(client: UiClient, jobId: string, lines: number): Promise<RunLogs> {
  const id = knownJobId(jobId);
  const log = await client.log(id).catch((error: unknown) => notFoundOn404(jobId, error));
  // tqdm rewrites its line with "\r": each update is a line, as the bridge reports them.
  const all = log.log.split(/\r\n|\r|\n/);
  if (all.at(-1) === "") all.pop();
  const wanted = Number.isFinite(lines) ? Math.max(0, Math.floor(lines)) : 0;
  const logs = (wanted === 0 ? [] : all.slice(-wanted)).map((line) => `${line}\n`);
  // The count is known only when the tail is the whole file (offset is the file's size).
  const whole = log.offset === 0 || new TextEncoder().encode(log.log).byteLength === log.offset;
  return { job_id: id, logs, total_lines: whole ? all.length : undefined };
}

export async function listUiRuns(client: UiClient, options?: UiCallOptions): Promise<ListedRun[]> {
  return (await trainJobs(client, options)).map((job) => ({ job_id: job.id, status: job.status, config: job.name }));
}
