// The job and queue routes (ui/src/app/api/jobs/**, ui/src/app/api/queue/**).
//
// Quirks kept on purpose, because clients meet them on the real server:
// - start / stop / mark_stopped / delete answer the row as it was *before* the change;
//   save_now / sample_now answer it after (they return what Prisma's update returns).
// - start only queues (status "queued", a fresh queue_position, the GPU's queue created switched
//   off when missing): nothing runs until /api/queue/<gpu_ids>/start turns that queue on.
// - stop sends SIGINT to the row's pid and marks it stopped only when that worked; with no pid, or
//   a pid that is gone (a stale row), it only sets `stop` and info "Stopping job...".
// - mark_stopped and save_now / sample_now on an unknown id fail inside Prisma: a bare 500.
// - GET /api/jobs?id=<unknown> answers `null`; ?only_active=true is cached for 5 s.

import { rm } from "node:fs/promises";
import path from "node:path";

import { type Answer, type ApiRequest, json, type Router } from "./http.ts";
import type { Processes } from "./queue.ts";
import type { Settings } from "./settings.ts";
import { type JobRow, type Store, UniqueConstraintError } from "./store.ts";

export interface JobRoutesContext {
  store: Store;
  settings: Settings;
  processes: Processes;
  /** Makes POST /api/jobs force gpu_ids "mps", as on a Mac. */
  isMac: boolean;
  log?: ((line: string) => void) | undefined;
}

const NOT_FOUND = (): Answer => json({ error: "Job not found" }, 404);
const byCreatedDesc = (a: JobRow, b: JobRow): number =>
  a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : 0;

export function addJobRoutes(router: Router, ctx: JobRoutesContext): void {
  const { store } = ctx;
  let activeCache: { at: number; jobType: string | null; jobs: JobRow[] } | undefined;

  router.add("GET", "/api/jobs", async (req) => {
    const params = req.url.searchParams;
    const id = params.get("id");
    const jobRef = params.get("job_ref");
    const jobType = params.get("job_type");
    if (id) return json(store.job(id));
    if (jobRef) {
      const matches = store.jobs().filter((job) => job.job_ref === jobRef);
      matches.sort((a, b) => (a.updated_at < b.updated_at ? 1 : a.updated_at > b.updated_at ? -1 : 0));
      return json(matches[0] ?? null);
    }
    let jobs = store.jobs().filter((job) => !jobType || job.job_type === jobType);
    if (params.get("only_active") === "true") {
      if (!activeCache || Date.now() - activeCache.at >= 5000 || activeCache.jobType !== jobType) {
        jobs = jobs.filter((job) => ["running", "queued", "stopping"].includes(job.status)).sort(byCreatedDesc);
        activeCache = { at: Date.now(), jobType, jobs };
      }
      return json({ jobs: activeCache.jobs });
    }
    return json({ jobs: jobs.sort(byCreatedDesc) });
  });

  router.add("POST", "/api/jobs", async (req) => postJob(req, ctx));

  router.add("GET", "/api/jobs/[jobID]/start", async (req) => {
    const job = store.job(req.params.jobID ?? "");
    if (!job) return NOT_FOUND();
    store.updateJob(job.id, { queue_position: (store.maxQueuePosition() || 0) + 1000 });
    if (!store.queue(job.gpu_ids)) store.createQueue(job.gpu_ids, false);
    store.updateJob(job.id, { status: "queued", stop: false, return_to_queue: false, info: "Job queued" });
    return json(job);
  });

  router.add("GET", "/api/jobs/[jobID]/stop", async (req) => {
    const job = store.job(req.params.jobID ?? "");
    if (!job) return NOT_FOUND();
    store.updateJob(job.id, { stop: true, info: "Stopping job..." });
    if (job.pid !== null) {
      try {
        ctx.processes.interrupt(job.pid);
        store.updateJob(job.id, { status: "stopped", info: "Job stopped" });
      } catch (error) {
        ctx.log?.(`Error sending signal to process: ${String(error)}`);
      }
    }
    return json(job);
  });

  router.add("GET", "/api/jobs/[jobID]/mark_stopped", async (req) => {
    const job = store.job(req.params.jobID ?? "");
    store.updateJob(req.params.jobID ?? "", { stop: true, status: "stopped", info: "Job stopped", pid: null });
    return json(job);
  });

  router.add("GET", "/api/jobs/[jobID]/delete", async (req) => {
    const job = store.job(req.params.jobID ?? "");
    if (!job) return NOT_FOUND();
    const folder = path.join(ctx.settings.trainingFolder(), job.name);
    if (!ctx.settings.mayTouch(folder)) throw new Error(`refusing to delete ${folder}`);
    await rm(folder, { recursive: true, force: true });
    store.deleteJob(job.id);
    return json(job);
  });

  for (const flag of ["save_now", "sample_now"] as const) {
    router.add("GET", `/api/jobs/[jobID]/${flag}`, async (req) =>
      json(store.updateJob(req.params.jobID ?? "", { [flag]: true })),
    );
  }

  router.add("GET", "/api/queue", async () =>
    json({ queues: store.queues().sort((a, b) => (a.gpu_ids < b.gpu_ids ? -1 : a.gpu_ids > b.gpu_ids ? 1 : 0)) }),
  );

  router.add("GET", "/api/queue/[queueID]/start", async (req) => {
    const gpuIds = req.params.queueID ?? "";
    const queue = store.queue(gpuIds);
    if (!queue) return json(store.createQueue(gpuIds, true));
    store.setQueueRunning(queue.id, true);
    return json(queue);
  });

  router.add("GET", "/api/queue/[queueID]/stop", async (req) => {
    const queue = store.queue(req.params.queueID ?? "");
    if (!queue) return json({ error: "Queue not found" }, 404);
    store.setQueueRunning(queue.id, false);
    return json(queue);
  });
}

/** POST /api/jobs: create (queue_position = max + 1000) or, with `id`, update. */
async function postJob(req: ApiRequest, ctx: JobRoutesContext): Promise<Answer> {
  const failed = json({ error: "Failed to save training data" }, 500);
  try {
    const body = (await req.json()) as Record<string, unknown>;
    const id = body.id;
    const name = body.name;
    const jobConfig = body.job_config === undefined ? undefined : JSON.stringify(body.job_config);
    const gpuIds = ctx.isMac ? "mps" : body.gpu_ids;
    const extra: { job_ref?: string | null; job_type?: string } = {};
    if ("job_ref" in body) {
      if (body.job_ref !== null && typeof body.job_ref !== "string") return failed;
      extra.job_ref = body.job_ref;
    }
    if ("job_type" in body) {
      if (typeof body.job_type !== "string") return failed;
      extra.job_type = body.job_type;
    }
    const optionalString = (value: unknown): value is string | undefined =>
      value === undefined || typeof value === "string";
    if (!optionalString(name) || !optionalString(gpuIds) || !optionalString(jobConfig)) return failed;

    if (id) {
      if (typeof id !== "string") return failed;
      return json(ctx.store.updateJob(id, { name, gpu_ids: gpuIds, job_config: jobConfig, ...extra }));
    }
    if (name === undefined || gpuIds === undefined || jobConfig === undefined) return failed;
    const queuePosition = (ctx.store.maxQueuePosition() || 0) + 1000;
    return json(
      ctx.store.createJob({ name, gpu_ids: gpuIds, job_config: jobConfig, queue_position: queuePosition, ...extra }),
    );
  } catch (error) {
    if (error instanceof UniqueConstraintError) return json({ error: "Job name already exists" }, 409);
    return failed;
  }
}
