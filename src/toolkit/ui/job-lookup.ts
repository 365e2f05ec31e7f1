import { ToolkitError } from "../errors";
import type { UiClient } from "./client";
import { UI } from "./failures";
import type { UiCallOptions } from "./http";
import { uiJobIdSchema } from "./names";
import type { UiJob, UiJobStatus } from "./schemas";

/**
 * Finding the UI's training jobs by name and by id, shared by the configuration and run
 * methods. On the UI a job is both the configuration (its name, its job_config) and the run
 * (its id, its status), so "configuration" and "job" name the same row here.
 */

/** States in which a job holds (or waits for) its GPU: its config must not change, and it must not start twice. */
export const ACTIVE_STATUSES: readonly UiJobStatus[] = ["queued", "running", "stopping"];

export function isActive(job: Pick<UiJob, "status">): boolean {
  return ACTIVE_STATUSES.includes(job.status);
}

/**
 * A training job rather than one of the UI's other kinds (captioning). UIs older than the
 * `job_type` column have only training jobs.
 */
export function isTrainJob(job: Pick<UiJob, "job_type">): boolean {
  return job.job_type === undefined || job.job_type === "train";
}

/** Every training job of the UI, newest first (the UI's order). */
export async function trainJobs(client: UiClient, options?: UiCallOptions): Promise<UiJob[]> {
  return (await client.jobs({}, options)).filter(isTrainJob);
}

/** The "tool" failure for a configuration name the UI has no training job of. */
export function configNotFound(name: string): ToolkitError {
  return new ToolkitError(
    "tool",
    `Configuration not found: ${UI} has no training job named ${JSON.stringify(name.slice(0, 120))}. ` +
      `list_configs shows the names; create_training_config makes a new one`,
  );
}

/** The "tool" failure callers match with /not found/: an unknown job, or one that is already over. */
export function jobNotFound(jobId: string, why: string): ToolkitError {
  return new ToolkitError(
    "tool",
    `Job ${JSON.stringify(jobId.slice(0, 120))} not found or already stopped: ${why}. ` +
      `list_training_jobs shows the UI's jobs and their states`,
  );
}

/** A job id the UI could have made (a uuid); anything else is a job it does not have. */
export function knownJobId(jobId: string): string {
  if (!uiJobIdSchema.safeParse(jobId).success) {
    throw jobNotFound(jobId, `${UI} gives its jobs uuids, and this is not one`);
  }
  return jobId;
}

/** Rethrows the UI's 404 for a job id as the not-found failure; other failures pass through. */
export function notFoundOn404(jobId: string, error: unknown): never {
  if (error instanceof ToolkitError && error.kind === "tool" && error.status === 404) {
    throw jobNotFound(jobId, `${UI} has no job with that id (it was deleted, or never existed)`);
  }
  throw error;
}
