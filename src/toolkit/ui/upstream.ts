import type { Config } from "../../config";
import { selectTransport, type ToolkitBinding, type ToolkitTransport } from "../transport";
import type {
  BatchSent,
  CallOptions,
  ConfigSaved,
  DatasetSummary,
  ListedModel,
  ListedRun,
  ModelBytes,
  Observation,
  OutgoingImage,
  RunCursor,
  RunLogs,
  RunStarted,
  SampleSet,
  TrainingConfigRequest,
  Upstream,
  UpstreamHealth,
} from "../upstream";
import { UiClient } from "./client";
import { createUiConfig, getUiConfig, listUiConfigs } from "./configs";
import { uiHealth, uiSystemStats, uiTrainingInfo } from "./machine";
import { observeUiRun } from "./observe";
import { listUiRuns, startUiRun, stopUiRun, uiRunLogs } from "./runs";
import { uiSampleImage, uiSamples } from "./samples";
import {
  uiBatchBytes,
  uiBatchOverhead,
  uiExportModel,
  uiListDatasets,
  uiListModels,
  uiOpenModel,
  uiSendBatch,
} from "./transfers";

export interface UiUpstreamOptions {
  /** The token the UI was started with (its AI_TOOLKIT_AUTH); unset when it runs without one. */
  token?: string | undefined;
  /** Per-call time-out in milliseconds. */
  timeoutMs: number;
  /** The GPU(s) new jobs run on: "0", "0,1". */
  gpuIds: string;
}

/**
 * ai-toolkit's own web UI (port 8675) as the Worker's upstream. On the UI a configuration is a
 * training job (its name and job_config) and a run is that job started: the job's id is the
 * run's id. Each concept lives in its own module; this class only binds them to one client.
 */
export class UiUpstream implements Upstream {
  readonly kind = "ui" as const;
  readonly timeoutMs: number;
  readonly client: UiClient;

  constructor(
    readonly transport: ToolkitTransport,
    options: UiUpstreamOptions,
  ) {
    this.timeoutMs = options.timeoutMs;
    this.client = new UiClient(transport, {
      ...(options.token ? { token: options.token } : {}),
      timeoutMs: options.timeoutMs,
      gpuIds: options.gpuIds,
    });
  }

  health(): Promise<UpstreamHealth> {
    return uiHealth(this.client);
  }

  createConfig(request: TrainingConfigRequest): Promise<ConfigSaved> {
    return createUiConfig(this.client, request);
  }

  listConfigs(options?: CallOptions): Promise<string[]> {
    return listUiConfigs(this.client, options);
  }

  getConfig(name: string, options?: CallOptions): Promise<unknown> {
    return getUiConfig(this.client, name, options);
  }

  startRun(configName: string): Promise<RunStarted> {
    return startUiRun(this.client, configName);
  }

  stopRun(jobId: string): Promise<void> {
    return stopUiRun(this.client, jobId);
  }

  observeRun(jobId: string, cursor: RunCursor | undefined, options: CallOptions): Promise<Observation> {
    return observeUiRun(this.client, jobId, cursor, options);
  }

  runLogs(jobId: string, lines: number): Promise<RunLogs> {
    return uiRunLogs(this.client, jobId, lines);
  }

  listRuns(options?: CallOptions): Promise<ListedRun[]> {
    return listUiRuns(this.client, options);
  }

  samples(jobId: string, query: { count: number; step?: number | undefined }): Promise<SampleSet> {
    return uiSamples(this.client, jobId, query);
  }

  sampleImage(jobId: string, sample: string): Promise<Response> {
    return uiSampleImage(this.client, jobId, sample);
  }

  listDatasets(options?: CallOptions): Promise<DatasetSummary[]> {
    return uiListDatasets(this.client, options);
  }

  batchBytes(image: { filename: string; size: number; caption: string }): number {
    return uiBatchBytes(image);
  }

  batchOverhead(datasetName: string): number {
    return uiBatchOverhead(datasetName);
  }

  sendBatch(datasetName: string, images: readonly OutgoingImage[], options: CallOptions): Promise<BatchSent> {
    return uiSendBatch(this.client, datasetName, images, options);
  }

  listModels(options?: CallOptions): Promise<ListedModel[]> {
    return uiListModels(this.client, options);
  }

  exportModel(modelName: string, outputPath: string): Promise<{ status: string; path: string }> {
    return uiExportModel(this.client, modelName, outputPath);
  }

  openModel(name: string, listed: ListedModel | undefined, options: CallOptions): Promise<ModelBytes> {
    return uiOpenModel(this.client, name, listed, options);
  }

  systemStats(): Promise<Record<string, unknown>> {
    return uiSystemStats(this.client);
  }

  trainingInfo(): Promise<Record<string, unknown>> {
    return uiTrainingInfo(this.client);
  }
}

/** The UI upstream the settings describe (AI_TOOLKIT_API=ui), over the transport they choose. */
export function uiUpstream(config: Config, env: { TOOLKIT?: ToolkitBinding }): UiUpstream {
  return new UiUpstream(selectTransport(config, env.TOOLKIT), {
    token: config.AI_TOOLKIT_AUTH,
    timeoutMs: config.TOOLKIT_TIMEOUT_MS,
    gpuIds: config.AI_TOOLKIT_GPU_IDS,
  });
}
