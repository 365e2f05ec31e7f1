// The one interface the tools, the job records and the transfers call: what the Worker needs
// from the GPU box, whichever server answers there. Two modules implement it, each with its own
// protocol: the original bridge (bridge/upstream.ts, port 8012) and ai-toolkit's own web UI
// (ui/upstream.ts, port 8675). Nothing outside src/toolkit/ branches on which one it is.

import type { Observation, RunCursor } from "../jobs/state";
import type { ToolkitError } from "./errors";
import type { ToolkitTransport } from "./transport";

/** Which server answers: AI_TOOLKIT_API. */
export type UpstreamKind = "bridge" | "ui";

export interface CallOptions {
  /** Overrides the per-call time-out (long transfers need more). */
  timeoutMs?: number;
  /** False: do not retry a read after a transport failure (callers that poll on their own schedule). */
  retry?: boolean;
  signal?: AbortSignal;
}

export type { Observation, RunCursor, RunReport } from "../jobs/state";

export interface UpstreamHealth {
  ok: boolean;
  latencyMs: number;
  /** The server's own name and version when it says them. */
  server?: string | undefined;
  version?: string | undefined;
  error?: string;
  /** The failure itself, for diagnosis (kind, HTTP status and hop). */
  failure?: ToolkitError;
}

/** create_training_config's parameters, validated (see src/mcp/tools/configs.ts). */
export interface TrainingConfigRequest {
  name: string;
  model_name: string;
  dataset_path: string;
  /** Left out: the family's native size. */
  resolution?: number | undefined;
  steps: number;
  rank: number;
  alpha: number;
  /** Left out: the family's default. */
  low_vram?: boolean | undefined;
  trigger_word?: string | undefined;
  test_prompts?: string[] | undefined;
  arch?: string | undefined;
  learning_rate?: number | undefined;
  batch_size?: number | undefined;
  gradient_accumulation?: number | undefined;
  save_every?: number | undefined;
  max_step_saves_to_keep?: number | undefined;
  sample_every?: number | undefined;
  caption_ext?: string | undefined;
  num_repeats?: number | undefined;
  resolutions?: number[] | undefined;
}

/** The toolkit protocol's create_training_config answer, with what the Worker adds. */
export interface ConfigSaved {
  status: string;
  /** The configuration's (the job's) name. */
  config: string;
  /** Where it lives: the YAML file (bridge), or the job's folder (UI). */
  path: string;
  /** The UI's job id (UI only). */
  job_id?: string;
  /** The model family whose defaults were used, when one was recognised. */
  family?: string;
  /** Family settings the upstream could not be told (bridge only), worded for a person. */
  not_applied?: string[];
  /** True when an existing configuration of that name was replaced. */
  replaced?: boolean;
  [extra: string]: unknown;
}

export interface RunStarted {
  status: string;
  job_id: string;
  pid?: number | undefined;
  /** 1-based place in the GPU's queue while the job waits behind others (UI only). */
  queue_position?: number | undefined;
  /** A sentence about the start worth passing on (e.g. where the job waits). */
  note?: string | undefined;
}

/** A job as the upstream lists it. */
export interface ListedRun {
  job_id: string;
  status: string;
  config?: string | undefined;
}

export interface RunLogs {
  job_id: string;
  /** The newest lines, oldest first, each ending in "\n". */
  logs: string[];
  total_lines?: number | undefined;
}

export interface DatasetSummary {
  name: string;
  images: number;
  [extra: string]: unknown;
}

/** One staged image on its way to the toolkit: its bytes are opened only when the body reaches it. */
export interface OutgoingImage {
  filename: string;
  caption: string;
  size: number;
  open(): Promise<ReadableStream<Uint8Array>>;
}

export interface BatchSent {
  /** How many images the toolkit says it saved. */
  saved: number;
  /** Where the dataset is on the toolkit. */
  path: string;
}

/** A trained model file the toolkit can hand out. */
export interface ListedModel {
  /** What download_model takes: the configuration's name for a final model, `name_000000500` for a checkpoint. */
  name: string;
  path: string;
  size: number;
  /** Changes when the file does (the bridge reports none). */
  mtime?: string | undefined;
  /** The training job it came from and its step (checkpoints only), on the UI. */
  job?: string | undefined;
  step?: number | undefined;
  [extra: string]: unknown;
}

/** A model file's bytes as they arrive, raw. */
export interface ModelBytes {
  body: ReadableStream<Uint8Array>;
  /** The file's name on the toolkit, when known (the bridge names only listed models). */
  filename?: string;
  /**
   * Resolves once the body has ended and checks what the toolkit said about it against what
   * arrived (`size` bytes); throws a ToolkitError when they disagree.
   */
  verify(size: number): Promise<void>;
}

export interface SampleImage {
  step: number;
  /** Which of the step's prompts (0-based). */
  index: number;
  prompt?: string | undefined;
  /** The full image's path on the toolkit (never handed out: the tools give signed links). */
  path: string;
  /** A small JPEG preview, when the toolkit makes one. */
  thumbnail?: { bytes: Uint8Array; mimeType: string } | undefined;
}

/**
 * A sample's file name: the last segment of its path ('/' or, on Windows, '\\'). Unique among a
 * job's samples, it names one to sampleImage.
 */
export function sampleFileName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
}

export interface SampleSet {
  job_id: string;
  /** Steps that have samples, oldest first. */
  steps: number[];
  samples: SampleImage[];
}

/**
 * What the Worker asks of the GPU box. Every method either answers or throws a ToolkitError
 * whose message says what happened and what to do; "tool" errors are the toolkit refusing, the
 * other kinds the way there failing.
 */
export interface Upstream {
  readonly kind: UpstreamKind;
  readonly transport: ToolkitTransport;
  /** The per-call time-out in milliseconds. */
  readonly timeoutMs: number;

  /** Never throws: an unreachable toolkit is a normal answer here. */
  health(): Promise<UpstreamHealth>;

  // Configurations
  createConfig(request: TrainingConfigRequest): Promise<ConfigSaved>;
  listConfigs(options?: CallOptions): Promise<string[]>;
  /** The configuration as an object; throws a "tool" ToolkitError when there is none of that name. */
  getConfig(name: string, options?: CallOptions): Promise<unknown>;

  // Training runs
  startRun(configName: string): Promise<RunStarted>;
  /** Throws a "tool" ToolkitError whose message contains "not found" when the job is unknown or already over. */
  stopRun(jobId: string): Promise<void>;
  /**
   * One poll of a job for its TrainingJob record: never throws (unreachable and unknown jobs are
   * observations). `cursor` is what the previous observation returned.
   */
  observeRun(jobId: string, cursor: RunCursor | undefined, options: CallOptions): Promise<Observation>;
  runLogs(jobId: string, lines: number): Promise<RunLogs>;
  listRuns(options?: CallOptions): Promise<ListedRun[]>;
  /** The newest `count` samples, or those of `step`; throws a "tool" ToolkitError when the upstream has none to give. */
  samples(jobId: string, query: { count: number; step?: number | undefined }): Promise<SampleSet>;
  /**
   * The full image of one sample, streamed: `sample` is a path samples() gave, or that path's file
   * name (unique among a job's samples), so a signed link need not carry the toolkit's paths.
   */
  sampleImage(jobId: string, sample: string): Promise<Response>;

  // Datasets
  listDatasets(options?: CallOptions): Promise<DatasetSummary[]>;
  /** Bytes one image adds to a batch body (the bridge sends base64, the UI raw bytes). */
  batchBytes(image: { filename: string; size: number; caption: string }): number;
  /** The fixed bytes of one batch body around its images. */
  batchOverhead(datasetName: string): number;
  /** Sends one batch of images (and captions) into a dataset folder, streamed. */
  sendBatch(datasetName: string, images: readonly OutgoingImage[], options: CallOptions): Promise<BatchSent>;

  // Models
  listModels(options?: CallOptions): Promise<ListedModel[]>;
  exportModel(modelName: string, outputPath: string): Promise<{ status: string; path: string }>;
  /** The raw bytes of a model the listing shows (or, on the bridge, any it can find). */
  openModel(name: string, listed: ListedModel | undefined, options: CallOptions): Promise<ModelBytes>;

  // The machine
  systemStats(): Promise<Record<string, unknown>>;
  trainingInfo(): Promise<Record<string, unknown>>;
}
