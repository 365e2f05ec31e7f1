import type { z } from "zod";
import { ToolkitError } from "../errors";
import type { ToolkitTransport } from "../transport";
import { downloadUiFile, type UiDownload, type UiDownloadOptions } from "./download";
import { defaultSetting, UI, type UiContext } from "./failures";
import { callUi, type UiCallOptions, type UiRequest } from "./http";
import { checked, jobIdSegment, uiDatasetNameSchema, uiGpuIdsSchema, uiJobIdSchema, uiJobNameSchema } from "./names";
import { queuePlace, type UiQueuePlace } from "./progress";
import * as s from "./schemas";
import { uploadToUi, type UiUploadImage, type UiUploadResult } from "./upload";

export interface UiClientOptions {
  /** The token the UI was started with (its AI_TOOLKIT_AUTH); unset when it runs without one. */
  token?: string;
  /** Per-call timeout in milliseconds. */
  timeoutMs: number;
  /** The GPU(s) new jobs run on, as the UI writes them: "0", "0,1". */
  gpuIds: string;
  /** What points the Worker at the UI, named in messages; by default the transport's setting. */
  setting?: string;
}

export interface UiJobInput {
  /** Updates that job instead of creating one. */
  id?: string;
  /** Unique among the UI's jobs; also its folder under TRAINING_FOLDER. */
  name: string;
  /** The whole job config (see job-config.ts); its `config.name` must equal `name`. */
  jobConfig: Record<string, unknown>;
  /** Default: the client's gpuIds. */
  gpuIds?: string;
  jobType?: string;
  jobRef?: string;
}

export interface UiStartResult {
  /** The row as `/start` answered it: as it was before the start. */
  before: s.UiJob;
  /** The GPU queue, as it was before it was turned on. */
  queue: s.UiQueue;
  /** The row read again after both calls; null when that read failed (the start itself worked). */
  job: s.UiJob | null;
  /** Where the job waits, when it is still queued. */
  place: UiQueuePlace | null;
  /** Why the row could not be read again. */
  readFailure?: string;
}

export interface UiLossQuery {
  /** A metric key from lossKeys(), e.g. "loss/loss" ("loss" alone matches nothing). */
  key: string;
  /** Only points after this step. */
  sinceStep?: number;
  /** At most this many points (the UI caps it at 20000; default 2000). */
  limit?: number;
  /** Only steps divisible by this. */
  stride?: number;
}

/**
 * Speaks the HTTP API of ai-toolkit's own web UI (port 8675; docs: ai-toolkit-ui-api.md) over
 * one transport, the same three as the bridge. Every answer is checked against its schema, so
 * callers see a typed result or a ToolkitError whose message says what to do. Reads are retried
 * once after a transport failure; calls that change something never are.
 */
export class UiClient {
  private readonly ctx: UiContext;
  readonly gpuIds: string;

  constructor(
    readonly transport: ToolkitTransport,
    options: UiClientOptions,
  ) {
    this.gpuIds = checked(uiGpuIdsSchema, "the GPU ids", options.gpuIds);
    this.ctx = {
      transport,
      token: options.token || undefined,
      timeoutMs: options.timeoutMs,
      setting: options.setting ?? defaultSetting(transport.kind),
    };
  }

  /** Whether the UI accepts the token (or needs none): a 401 is a ToolkitError naming AI_TOOLKIT_AUTH. */
  async auth(options?: UiCallOptions): Promise<void> {
    await this.read("/api/auth", "check the token", s.uiAuthSchema, options);
  }

  /** The connection and token, for requests made beside the client with http.ts (samples.ts's thumbnails). */
  get context(): UiContext {
    return this.ctx;
  }

  // Jobs

  async jobs(query: { jobType?: string } = {}, options?: UiCallOptions): Promise<s.UiJob[]> {
    const search = query.jobType ? `?job_type=${encodeURIComponent(query.jobType)}` : "";
    return (await this.read(`/api/jobs${search}`, "list its jobs", s.uiJobListSchema, options)).jobs;
  }

  /** One job, or null when the UI has no job with that id. */
  async job(id: string, options?: UiCallOptions): Promise<s.UiJob | null> {
    return this.read(`/api/jobs?id=${jobIdSegment(id)}`, `read job ${id}`, s.uiJobOrNullSchema, options);
  }

  /** Creates a job (status "stopped": start it next) or, with `id`, updates one. */
  async saveJob(input: UiJobInput, options?: UiCallOptions): Promise<s.UiJob> {
    const name = checked(uiJobNameSchema, "the job name", input.name);
    const config = input.jobConfig.config as { name?: unknown } | undefined;
    // The UI reads a job's log, samples and files from TRAINING_FOLDER/<job name>, the trainer
    // writes them to <training_folder>/<config.name>: they must agree.
    if (config?.name !== undefined && config.name !== name) {
      throw new RangeError(
        `the job config's config.name (${JSON.stringify(config.name)}) must equal the job name ` +
          `${JSON.stringify(name)}, or the UI finds none of its files`,
      );
    }
    const json = {
      ...(input.id !== undefined ? { id: checked(uiJobIdSchema, "the job id", input.id) } : {}),
      name,
      gpu_ids: input.gpuIds === undefined ? this.gpuIds : checked(uiGpuIdsSchema, "the GPU ids", input.gpuIds),
      job_config: input.jobConfig,
      ...(input.jobType !== undefined ? { job_type: input.jobType } : {}),
      ...(input.jobRef !== undefined ? { job_ref: input.jobRef } : {}),
    };
    const explain = (status: number) =>
      status === 409
        ? `${UI} already has a job named ${name}: choose another name, or update that job by its id`
        : undefined;
    return this.write(
      { method: "POST", path: "/api/jobs", action: `save the job ${name}`, json, explain },
      s.uiJobSchema,
      options,
    );
  }

  /**
   * Queues the job and turns its GPU queue on: both are needed (a queued job runs only while its
   * queue is on; the UI's Start button makes both calls). `/start` answers the row as it was
   * before, so the row is read again for the job's state and its place in the queue.
   */
  async start(id: string, options?: UiCallOptions): Promise<UiStartResult> {
    const before = await this.act(id, "start", `queue job ${id}`, options);
    const gpu = encodeURIComponent(checked(uiGpuIdsSchema, "the job's GPU ids", before.gpu_ids));
    let queue: s.UiQueue;
    try {
      queue = await this.write(
        { method: "GET", path: `/api/queue/${gpu}/start`, action: `start the queue of GPU ${before.gpu_ids}` },
        s.uiQueueSchema,
        options,
      );
    } catch (error) {
      if (!(error instanceof ToolkitError)) throw error;
      const message =
        `job ${before.name} is queued, but ${error.message}. Start it again (that is harmless) or press ` +
        `"Start queue" in the UI`;
      throw new ToolkitError(error.kind, message, error.status, error.hop);
    }
    try {
      const jobs = await this.jobs({}, options);
      const job = jobs.find((row) => row.id === before.id) ?? null;
      return {
        before,
        queue,
        job,
        place: job ? queuePlace(job, jobs) : null,
        ...(job ? {} : { readFailure: `${UI} no longer lists job ${before.name}` }),
      };
    } catch (error) {
      return {
        before,
        queue,
        job: null,
        place: null,
        readFailure: error instanceof Error ? error.message : String(error),
      };
    }
  }

  /** Asks the trainer to stop (SIGINT); answers the row as it was before. */
  async stop(id: string, options?: UiCallOptions): Promise<s.UiJob> {
    return this.act(id, "stop", `stop job ${id}`, options);
  }

  /** Marks a job stopped without touching a process: the way out of a stale "running" row that blocks a queue. */
  async markStopped(id: string, options?: UiCallOptions): Promise<s.UiJob> {
    return this.act(id, "mark_stopped", `mark job ${id} as stopped`, options);
  }

  /** Deletes the job and its folder (checkpoints, samples, log); answers the row as it was. */
  async delete(id: string, options?: UiCallOptions): Promise<s.UiJob> {
    return this.act(id, "delete", `delete job ${id}`, options);
  }

  /** Asks the trainer to save a checkpoint at its next step. */
  async saveNow(id: string, options?: UiCallOptions): Promise<s.UiJob> {
    return this.act(id, "save_now", `ask job ${id} for a checkpoint`, options);
  }

  /** Asks the trainer to make samples at its next step. */
  async sampleNow(id: string, options?: UiCallOptions): Promise<s.UiJob> {
    return this.act(id, "sample_now", `ask job ${id} for samples`, options);
  }

  async queues(options?: UiCallOptions): Promise<s.UiQueue[]> {
    return (await this.read("/api/queue", "list its queues", s.uiQueueListSchema, options)).queues;
  }

  /** Turns a GPU queue off (the running job is sent back to the queue). */
  async stopQueue(gpuIds: string, options?: UiCallOptions): Promise<s.UiQueue> {
    const gpu = encodeURIComponent(checked(uiGpuIdsSchema, "the GPU ids", gpuIds));
    return this.write(
      { method: "GET", path: `/api/queue/${gpu}/stop`, action: `stop the queue of GPU ${gpuIds}` },
      s.uiQueueSchema,
      options,
    );
  }

  /** New log bytes since `offset` (omitted: the last ~5 MB, with `reset`); pass the answer's offset next time. */
  async log(id: string, offset?: number, options?: UiCallOptions): Promise<s.UiLog> {
    const query = offset === undefined ? "" : `?offset=${nonNegative("offset", offset)}`;
    return this.read(`/api/jobs/${jobIdSegment(id)}/log${query}`, `read the log of job ${id}`, s.uiLogSchema, options);
  }

  async loss(id: string, query: UiLossQuery, options?: UiCallOptions): Promise<s.UiLoss> {
    const search = new URLSearchParams({ key: query.key });
    if (query.sinceStep !== undefined) search.set("since_step", String(nonNegative("sinceStep", query.sinceStep)));
    if (query.limit !== undefined) search.set("limit", String(nonNegative("limit", query.limit)));
    if (query.stride !== undefined) search.set("stride", String(Math.max(1, nonNegative("stride", query.stride))));
    return this.read(
      `/api/jobs/${jobIdSegment(id)}/loss?${search}`,
      `read the loss of job ${id}`,
      s.uiLossSchema,
      options,
    );
  }

  /** The metric keys the job has logged ("loss/loss", "learning_rate"...): a loss query with no points. */
  async lossKeys(id: string, options?: UiCallOptions): Promise<string[]> {
    return (await this.loss(id, { key: "", limit: 0 }, options)).keys;
  }

  /** Absolute paths of the job's sample images (and videos), oldest first. */
  async samples(id: string, options?: UiCallOptions): Promise<string[]> {
    return (
      await this.read(
        `/api/jobs/${jobIdSegment(id)}/samples`,
        `list the samples of job ${id}`,
        s.uiSamplesSchema,
        options,
      )
    ).samples;
  }

  /** The job's checkpoints (.safetensors) and optimizer state, with sizes. */
  async files(id: string, options?: UiCallOptions): Promise<s.UiJobFile[]> {
    return (
      await this.read(`/api/jobs/${jobIdSegment(id)}/files`, `list the files of job ${id}`, s.uiJobFilesSchema, options)
    ).files;
  }

  // Datasets

  async datasets(options?: UiCallOptions): Promise<string[]> {
    return this.read("/api/datasets/list", "list its datasets", s.uiDatasetListSchema, options);
  }

  /** Creates the folder; answers the name the UI gave it (lower snake case). */
  async createDataset(name: string, options?: UiCallOptions): Promise<string> {
    checked(uiDatasetNameSchema, "the dataset name", name);
    const action = `create the dataset ${name}`;
    return (
      await this.write(
        { method: "POST", path: "/api/datasets/create", action, json: { name } },
        s.uiDatasetCreatedSchema,
        options,
      )
    ).name;
  }

  async datasetImages(name: string, options?: UiCallOptions): Promise<s.UiDatasetImages> {
    checked(uiDatasetNameSchema, "the dataset name", name);
    const request = {
      method: "POST",
      path: "/api/datasets/listImages",
      action: `list the images of the dataset ${name}`,
      json: { datasetName: name },
      reads: true,
    } as const;
    return callUi(this.ctx, request, s.uiDatasetImagesSchema, options);
  }

  /** Deletes the dataset's folder and everything in it. */
  async deleteDataset(name: string, options?: UiCallOptions): Promise<void> {
    checked(uiDatasetNameSchema, "the dataset name", name);
    await this.write(
      { method: "POST", path: "/api/datasets/delete", action: `delete the dataset ${name}`, json: { name } },
      s.uiSuccessSchema,
      options,
    );
  }

  /** Streams images (and their captions as .txt files) into a dataset folder; see upload.ts. */
  async uploadDataset(
    name: string,
    images: readonly UiUploadImage[],
    options?: UiCallOptions,
  ): Promise<UiUploadResult> {
    return uploadToUi(this.ctx, name, images, options);
  }

  // Files and system

  /** A file of the UI's machine, streamed, from `rangeStart` on; see download.ts. */
  async fileDownload(absolutePath: string, options?: UiDownloadOptions): Promise<UiDownload> {
    return downloadUiFile(this.ctx, absolutePath, options);
  }

  async gpu(options?: UiCallOptions): Promise<s.UiGpu> {
    return this.read("/api/gpu", "report its GPUs", s.uiGpuSchema, options);
  }

  async cpu(options?: UiCallOptions): Promise<s.UiCpu> {
    return this.read("/api/cpu", "report its CPU and memory", s.uiCpuSchema, options);
  }

  /**
   * The UI's folders, from `GET /api/settings`. That answer also holds the user's HF_TOKEN:
   * the schema keeps only these four keys, the object is rebuilt from them, and no message
   * about this call quotes the answer.
   */
  async folders(options?: UiCallOptions): Promise<s.UiFolders> {
    const request: UiRequest = {
      method: "GET",
      path: "/api/settings",
      action: "report its folders",
      reads: true,
      secret: true,
    };
    const { TRAINING_FOLDER, DATASETS_FOLDER, DATA_ROOT, MODELS_PATH } = await callUi(
      this.ctx,
      request,
      s.uiFoldersSchema,
      options,
    );
    return {
      TRAINING_FOLDER,
      DATASETS_FOLDER,
      ...(DATA_ROOT !== undefined ? { DATA_ROOT } : {}),
      ...(MODELS_PATH !== undefined ? { MODELS_PATH } : {}),
    };
  }

  private read<S extends z.ZodType>(path: string, action: string, schema: S, options?: UiCallOptions) {
    return callUi(this.ctx, { method: "GET", path, action, reads: true }, schema, options);
  }

  private write<S extends z.ZodType>(request: Omit<UiRequest, "reads">, schema: S, options?: UiCallOptions) {
    return callUi(this.ctx, { ...request, reads: false }, schema, options);
  }

  /** `GET /api/jobs/{id}/{verb}`: a change to one job, answered with its row. */
  private act(id: string, verb: string, action: string, options?: UiCallOptions): Promise<s.UiJob> {
    const explain = (status: number, message: string) =>
      status === 404 ? `${UI} has no job with id ${id} (${message}): it was deleted; list the jobs again` : undefined;
    return this.write(
      { method: "GET", path: `/api/jobs/${jobIdSegment(id)}/${verb}`, action, explain },
      s.uiJobSchema,
      options,
    );
  }
}

function nonNegative(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new RangeError(`${name} must be a whole number of at least 0, not ${String(value)}`);
  return value;
}
