import type { Config } from "../../config";
import { errorMessage } from "../../common";
import { bridgeDefaults, resolveFamily } from "../../jobs/presets";
import { trainingOptionsSchema, type TrainingOptions } from "../../jobs/training-options";
import { ToolkitError } from "../errors";
import type { ToolkitBinding } from "../transport";
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
  RunLogs,
  RunStarted,
  SampleSet,
  TrainingConfigRequest,
  Upstream,
  UpstreamHealth,
} from "../upstream";
import { ToolkitClient, toolkitClient } from "./client";
import { openBridgeModel } from "./download-model";
import { sendBridgeBatch } from "./send-batch";
import { uploadBodyLength } from "./upload-body";

/**
 * The trainer options the bridge's create_training_config has no parameter for: every one of
 * create_training_config's extra options but `arch` (it only picks the preset) and `resolutions`
 * (one value is the bridge's resolution).
 */
const UI_ONLY_OPTIONS = Object.keys(trainingOptionsSchema.shape).filter(
  (option): option is Exclude<keyof TrainingOptions, "arch" | "resolutions"> =>
    option !== "arch" && option !== "resolutions",
);

/**
 * The original AI Toolkit MCP server (port 8012, docs: upstream-protocol.md) behind the
 * upstream interface. Its protocol (the /mcp/execute envelope, base64 in JSON both ways, tqdm
 * in the log as the only progress) stays in this folder.
 */
export class BridgeUpstream implements Upstream {
  readonly kind = "bridge";

  /** `datasetsRoot`: DATASETS_ROOT, where a dataset given by name lives on the bridge's machine. */
  constructor(
    readonly client: ToolkitClient,
    readonly datasetsRoot = "/ai-toolkit/datasets",
  ) {}

  get transport() {
    return this.client.transport;
  }

  get timeoutMs() {
    return this.client.timeoutMs;
  }

  health(): Promise<UpstreamHealth> {
    return this.client.health();
  }

  async createConfig(request: TrainingConfigRequest): Promise<ConfigSaved> {
    const unsupported: string[] = UI_ONLY_OPTIONS.filter((option) => request[option] !== undefined);
    if ((request.resolutions?.length ?? 0) > 1) unsupported.push("resolutions");
    if (unsupported.length > 0) {
      throw new ToolkitError(
        "invalid",
        `the original bridge (AI_TOOLKIT_API=bridge) cannot set ${unsupported.join(", ")}: its ` +
          `create_training_config takes only name, model_name, dataset_path, resolution, steps, rank, alpha, ` +
          `low_vram, trigger_word and test_prompts. Leave them out, or run ai-toolkit's UI and set AI_TOOLKIT_API=ui`,
      );
    }
    const resolved = resolveFamily(request.model_name, request.arch as Parameters<typeof resolveFamily>[1]);
    const defaults = resolved ? bridgeDefaults(resolved.family) : undefined;
    const args = {
      name: request.name,
      model_name: request.model_name,
      // A dataset given by its name (list_datasets) is a folder of the datasets root.
      dataset_path: request.dataset_path.startsWith("/")
        ? request.dataset_path
        : `${this.datasetsRoot}/${request.dataset_path}`,
      resolution: request.resolution ?? request.resolutions?.[0] ?? defaults?.resolution ?? 512,
      steps: request.steps,
      rank: request.rank,
      alpha: request.alpha,
      low_vram: request.low_vram ?? defaults?.low_vram ?? true,
      ...(request.trigger_word !== undefined ? { trigger_word: request.trigger_word } : {}),
      ...(request.test_prompts !== undefined ? { test_prompts: request.test_prompts } : {}),
    };
    const saved = await this.client.run("create_training_config", args);
    return {
      ...saved,
      ...(resolved ? { family: resolved.family, not_applied: defaults?.not_expressible ?? [] } : {}),
    };
  }

  async listConfigs(options?: CallOptions): Promise<string[]> {
    return (await this.client.run("list_configs", {}, options)).configs;
  }

  async getConfig(name: string, options?: CallOptions): Promise<unknown> {
    return (await this.client.run("get_config", { name }, options)).config;
  }

  async startRun(configName: string): Promise<RunStarted> {
    const started = await this.client.run("start_training", { config_name: configName });
    return { status: started.status, job_id: started.job_id, pid: started.pid };
  }

  async stopRun(jobId: string): Promise<void> {
    await this.client.run("stop_training", { job_id: jobId });
  }

  /** One poll: status first, then the log, so a "completed" is never judged on an older log. */
  async observeRun(jobId: string, _cursor: unknown, options: CallOptions): Promise<Observation> {
    try {
      const status = await this.client.run("get_training_status", { job_id: jobId }, options);
      const logs = await this.client.run("get_training_logs", { job_id: jobId, lines: POLL_LOG_LINES }, options);
      return {
        kind: "answer",
        status: status.status,
        progress: status.progress,
        config: status.config,
        logs: logs.logs,
        totalLines: logs.total_lines,
      };
    } catch (error) {
      if (error instanceof ToolkitError && error.kind === "tool" && /not found/i.test(error.message))
        return { kind: "not_found" };
      return { kind: "unreachable", message: errorMessage(error) };
    }
  }

  async runLogs(jobId: string, lines: number): Promise<RunLogs> {
    return this.client.run("get_training_logs", { job_id: jobId, lines });
  }

  async listRuns(options?: CallOptions): Promise<ListedRun[]> {
    return (await this.client.run("list_training_jobs", {}, options)).jobs;
  }

  samples(): Promise<SampleSet> {
    return Promise.reject(noSamples());
  }

  sampleImage(): Promise<Response> {
    return Promise.reject(noSamples());
  }

  async listDatasets(options?: CallOptions): Promise<DatasetSummary[]> {
    return (await this.client.run("list_datasets", {}, options)).datasets;
  }

  /** An image's share of an upload_dataset body: its JSON object with the base64 data, and the "," before it. */
  batchBytes(image: { filename: string; size: number; caption: string }): number {
    return uploadBodyLength("", [image]) - uploadBodyLength("", []) + 1;
  }

  /** The body around the images, less the one "," the first image does not have. */
  batchOverhead(datasetName: string): number {
    return uploadBodyLength(datasetName, []) - 1;
  }

  sendBatch(datasetName: string, images: readonly OutgoingImage[], options: CallOptions): Promise<BatchSent> {
    return sendBridgeBatch(this.client, datasetName, images, options);
  }

  async listModels(options?: CallOptions): Promise<ListedModel[]> {
    const { models } = await this.client.run("list_exported_models", {}, options);
    return models.map((model) => {
      const mtime = (model as Record<string, unknown>).mtime;
      return {
        ...model,
        mtime: typeof mtime === "string" || typeof mtime === "number" ? String(mtime) : undefined,
      };
    });
  }

  async exportModel(modelName: string, outputPath: string): Promise<{ status: string; path: string }> {
    return this.client.run("export_model", { model_name: modelName, output_path: outputPath });
  }

  openModel(name: string, listed: ListedModel | undefined, options: CallOptions): Promise<ModelBytes> {
    return openBridgeModel(this.client, name, listed, options);
  }

  systemStats(): Promise<Record<string, unknown>> {
    return this.client.run("get_system_stats");
  }

  trainingInfo(): Promise<Record<string, unknown>> {
    return this.client.run("get_training_info");
  }
}

/** How many of the toolkit's newest log lines one poll reads (tqdm redraws are lines too). */
const POLL_LOG_LINES = 300;

function noSamples(): ToolkitError {
  return new ToolkitError(
    "tool",
    "the original bridge (AI_TOOLKIT_API=bridge) cannot hand out sample images: it has no way to read a job's " +
      'files. Run ai-toolkit\'s own web UI on the GPU box and set AI_TOOLKIT_API=ui (README.md, "Which upstream")',
  );
}

export function bridgeUpstream(config: Config, env: { TOOLKIT?: ToolkitBinding }): BridgeUpstream {
  return new BridgeUpstream(toolkitClient(config, env), config.DATASETS_ROOT);
}
