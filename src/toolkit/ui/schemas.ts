import { z } from "zod";

/**
 * Every answer of ai-toolkit's UI (docs: ai-toolkit-ui-api.md; source: ui/src/app/api/**) as a
 * zod schema; the TypeScript types are derived from them. Objects are `z.object`, which drops
 * keys it does not name: a newer UI may add fields without breaking the Worker, and nothing
 * the Worker did not ask for (the settings answer holds the user's HF_TOKEN) is carried along.
 * Fields that older UIs lack are optional.
 */

/** The job states the UI's database knows (ui/src/types.ts `JobStatus`). */
export const uiJobStatusSchema = z.enum(["queued", "running", "stopping", "stopped", "completed", "error"]);
export type UiJobStatus = z.infer<typeof uiJobStatusSchema>;

/** One row of the UI's Job table (ui/prisma/schema.prisma). */
export const uiJobSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  gpu_ids: z.string(),
  /** The job's config as a JSON string (see progress.ts for reading it). */
  job_config: z.string(),
  created_at: z.string(),
  /** Set by the UI's own writes only: the trainer writes step, info and speed without touching it. */
  updated_at: z.string(),
  status: uiJobStatusSchema,
  /** The stop flag the trainer polls; true while a stop is under way. */
  stop: z.boolean(),
  return_to_queue: z.boolean().optional(),
  step: z.number(),
  /** Stays null for training jobs: the total is the config's train.steps. */
  total_steps: z.number().nullable(),
  info: z.string(),
  speed_string: z.string(),
  /** An ordering key (steps of 1000), not a rank: see queuePlace in progress.ts. */
  queue_position: z.number(),
  pid: z.number().nullable(),
  job_type: z.string().optional(),
  job_ref: z.string().nullable().optional(),
  save_now: z.boolean().optional(),
  sample_now: z.boolean().optional(),
});
export type UiJob = z.infer<typeof uiJobSchema>;

export const uiJobListSchema = z.object({ jobs: z.array(uiJobSchema) });
/** `GET /api/jobs?id=` answers the row, or `null` when no job has that id. */
export const uiJobOrNullSchema = uiJobSchema.nullable();

/** One GPU queue: a queued job runs only while its queue `is_running`. */
export const uiQueueSchema = z.object({ id: z.number(), gpu_ids: z.string(), is_running: z.boolean() });
export type UiQueue = z.infer<typeof uiQueueSchema>;
export const uiQueueListSchema = z.object({ queues: z.array(uiQueueSchema) });

/** `GET /api/jobs/{id}/log?offset=N`: new bytes of log.txt since `offset`, or a fresh tail when `reset`. */
export const uiLogSchema = z.object({ log: z.string(), offset: z.number().int().nonnegative(), reset: z.boolean() });
export type UiLog = z.infer<typeof uiLogSchema>;

/** `GET /api/jobs/{id}/loss`: one metric's points from the job's loss_log.db, and every metric's key. */
export const uiLossSchema = z.object({
  key: z.string(),
  keys: z.array(z.string()),
  points: z.array(z.object({ step: z.number(), wall_time: z.number().nullable(), value: z.number().nullable() })),
});
export type UiLoss = z.infer<typeof uiLossSchema>;

export const uiSamplesSchema = z.object({ samples: z.array(z.string()) });
export const uiJobFilesSchema = z.object({ files: z.array(z.object({ path: z.string(), size: z.number() })) });
export type UiJobFile = z.infer<typeof uiJobFilesSchema>["files"][number];

/** `GET /api/datasets/list` answers a plain array of folder names. */
export const uiDatasetListSchema = z.array(z.string());
/** `POST /api/datasets/create`: `name` is the cleaned name the folder got ("My Set!" → "my_set_"). */
export const uiDatasetCreatedSchema = z.object({ success: z.literal(true), name: z.string() });
export const uiDatasetImagesSchema = z.object({
  /** The dataset's folder, ending in the UI machine's path separator. */
  root: z.string(),
  /** Paths below `root`. */
  images: z.array(z.string()),
});
export type UiDatasetImages = z.infer<typeof uiDatasetImagesSchema>;
export const uiSuccessSchema = z.object({ success: z.literal(true) });
/** `POST /api/datasets/upload`: the names the files were stored under, in the order sent. */
export const uiUploadedSchema = z.object({ message: z.string().optional(), files: z.array(z.string()) });

/** nvidia-smi fields the UI could not parse ("[N/A]") arrive as null (NaN in JSON). */
const reading = z.number().nullable();
export const uiGpuSchema = z.object({
  hasNvidiaSmi: z.boolean(),
  isMac: z.boolean().optional(),
  gpus: z.array(
    z.object({
      index: reading,
      name: z.string(),
      driverVersion: z.string(),
      temperature: reading,
      utilization: z.object({ gpu: reading, memory: reading }),
      /** MiB. */
      memory: z.object({ total: reading, free: reading, used: reading }),
      power: z.object({ draw: reading, limit: reading }),
      clocks: z.object({ graphics: reading, memory: reading }).optional(),
      fan: z.object({ speed: reading }).optional(),
    }),
  ),
  error: z.string().optional(),
});
export type UiGpu = z.infer<typeof uiGpuSchema>;

export const uiCpuSchema = z.object({
  name: z.string(),
  cores: reading,
  temperature: reading,
  /** MiB. */
  totalMemory: reading,
  freeMemory: reading,
  availableMemory: reading,
  currentLoad: reading,
});
export type UiCpu = z.infer<typeof uiCpuSchema>;

/**
 * The four folders of `GET /api/settings`, and nothing else: that answer also holds the
 * user's HF_TOKEN, which `z.object` drops here and the Worker never keeps. The UI fills in
 * defaults for all but DATA_ROOT.
 */
export const uiFoldersSchema = z.object({
  TRAINING_FOLDER: z.string().min(1),
  DATASETS_FOLDER: z.string().min(1),
  DATA_ROOT: z.string().optional(),
  MODELS_PATH: z.string().optional(),
});
export type UiFolders = z.infer<typeof uiFoldersSchema>;

/** `GET /api/auth` answers this once the middleware let the token through. */
export const uiAuthSchema = z.object({ isAuthenticated: z.literal(true) });

/** How the UI reports a failure: `{error}` with a 4xx or 5xx status. */
export const uiErrorSchema = z.object({ error: z.string() });
