import {
  FAMILY_IDS,
  resolveFamily,
  unknownFamilyMessage,
  type FamilyId,
  type ResolvedFamily,
} from "../../jobs/presets";
import { ToolkitError } from "../errors";
import type { ConfigSaved, TrainingConfigRequest } from "../upstream";
import type { UiClient } from "./client";
import { UI } from "./failures";
import type { UiCallOptions } from "./http";
import { buildUiJobConfig, type UiJobParams } from "./job-config";
import { configNotFound, isActive, isTrainJob, trainJobs } from "./job-lookup";
import { uiJobNameSchema } from "./names";
import { dataPathIn, joinFolder } from "./paths";

/**
 * Training configurations on ai-toolkit's UI: each is a training job (its name and job_config),
 * created stopped and started by startRun. Bad input (an unknown model family, a dataset outside
 * the UI's DATASETS_FOLDER) is an "invalid" ToolkitError, found before anything is sent; the UI refusing
 * (a job of that name is running) is a "tool" ToolkitError.
 */

export async function createUiConfig(client: UiClient, request: TrainingConfigRequest): Promise<ConfigSaved> {
  const name = jobNameOf(request.name);
  const { family, preset } = familyOf(request);
  // The folders come from the settings answer, which also holds the user's HF token: the
  // client keeps only the folders (UiClient.folders), and nothing else of it is read.
  const [folders, jobs, datasets] = await Promise.all([client.folders(), client.jobs(), client.datasets()]);
  const datasetPath = datasetPathIn(request.dataset_path, folders.DATASETS_FOLDER, datasets);

  const existing = jobs.find((job) => job.name === name);
  if (existing && !isTrainJob(existing)) {
    throw invalidRequest(
      `${UI} already has a job named ${name} that is not a training job (a ${existing.job_type ?? "?"} job): ` +
        `choose another name`,
    );
  }
  if (existing && isActive(existing)) {
    const doing = existing.status === "queued" ? "waits in its queue" : "is running";
    throw new ToolkitError(
      "tool",
      `the training job ${name} ${doing} on ${UI} (status ${existing.status}): its configuration cannot be ` +
        `replaced now. Stop it first (stop_training with job_id ${existing.id}), then create the configuration ` +
        `again, or choose another name`,
    );
  }

  const params: UiJobParams = {
    name,
    model_name: request.model_name,
    dataset_path: datasetPath,
    steps: request.steps,
    rank: request.rank,
    alpha: request.alpha,
    trigger_word: request.trigger_word,
    test_prompts: request.test_prompts,
    learning_rate: request.learning_rate,
    batch_size: request.batch_size,
    gradient_accumulation: request.gradient_accumulation,
    save_every: request.save_every,
    max_step_saves_to_keep: request.max_step_saves_to_keep,
    sample_every: request.sample_every,
    caption_ext: request.caption_ext,
    num_repeats: request.num_repeats,
    resolutions: request.resolutions,
    ...(request.resolution !== undefined ? { resolution: request.resolution } : {}),
    ...(request.low_vram !== undefined ? { low_vram: request.low_vram } : {}),
  };
  const jobConfig = buildUiJobConfig(params, preset, { training_folder: folders.TRAINING_FOLDER });
  // Between the look-up above and this save another client could start the job; the trainer
  // reads its config once, when it starts, so a run already under way keeps the one it began with.
  const saved = await client.saveJob({ ...(existing ? { id: existing.id } : {}), name, jobConfig: { ...jobConfig } });
  return {
    status: "success",
    config: saved.name,
    path: joinFolder(folders.TRAINING_FOLDER, saved.name),
    job_id: saved.id,
    family,
    replaced: existing !== undefined,
  };
}

export async function listUiConfigs(client: UiClient, options?: UiCallOptions): Promise<string[]> {
  return (await trainJobs(client, options)).map((job) => job.name);
}

/** The job's config as the trainer gets it (the UI keeps it as a JSON string). */
export async function getUiConfig(client: UiClient, name: string, options?: UiCallOptions): Promise<unknown> {
  const job = (await trainJobs(client, options)).find((row) => row.name === name);
  if (!job) throw configNotFound(name);
  try {
    return JSON.parse(job.job_config) as unknown;
  } catch {
    throw new ToolkitError(
      "protocol",
      `${UI} keeps a job_config for ${name} that is not JSON (${job.job_config.length} characters): open the job ` +
        `in the UI and save it again, or create the configuration again`,
    );
  }
}

function jobNameOf(name: string): string {
  const parsed = uiJobNameSchema.safeParse(name);
  if (!parsed.success) {
    throw invalidRequest(
      `name ${JSON.stringify(name.slice(0, 120))} cannot name a job of ${UI}: ${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

function familyOf(request: TrainingConfigRequest): ResolvedFamily {
  let arch: FamilyId | undefined;
  if (request.arch !== undefined) {
    arch = FAMILY_IDS.find((id) => id === request.arch);
    if (!arch) {
      throw invalidRequest(
        `arch ${JSON.stringify(request.arch.slice(0, 60))} is not a model family this server knows: pass one of ` +
          `${FAMILY_IDS.join(", ")} (see docs/presets.md)`,
      );
    }
  }
  const resolved = resolveFamily(request.model_name, arch);
  if (!resolved) throw invalidRequest(unknownFamilyMessage(request.model_name));
  return resolved;
}

/**
 * The dataset folder the trainer will read, checked: a folder inside the UI's DATASETS_FOLDER
 * whose dataset the UI lists. The trainer reads any path it is given, so a path outside would
 * train on whatever is there, or fail only after the model has loaded.
 */
function datasetPathIn(datasetPath: string, datasetsFolder: string, datasets: readonly string[]): string {
  // A dataset given by its name (as list_datasets shows it) is that folder of DATASETS_FOLDER.
  const byName = !/[\\/]/.test(datasetPath);
  const inside = byName
    ? { path: joinFolder(datasetsFolder, datasetPath), dataset: datasetPath }
    : dataPathIn(datasetPath, datasetsFolder);
  if ("problem" in inside) {
    throw invalidRequest(
      `dataset_path ${JSON.stringify(datasetPath.slice(0, 200))} is not a folder inside the UI's DATASETS_FOLDER ` +
        `(${datasetsFolder}): ${inside.problem}. Pass the dataset's name (list_datasets shows them) or ` +
        `${joinFolder(datasetsFolder, "<dataset name>")}`,
    );
  }
  if (!datasets.includes(inside.dataset)) {
    const known = datasets.length
      ? `it has ${datasets.slice(0, 20).join(", ")}${datasets.length > 20 ? ", ..." : ""}`
      : "it has none yet";
    throw invalidRequest(
      `dataset_path ${JSON.stringify(datasetPath.slice(0, 200))} names the dataset ${JSON.stringify(inside.dataset)}, ` +
        `which the UI does not have in ${datasetsFolder} (${known}): upload it first (upload_dataset or ` +
        `create_dataset_upload), or pick one of those`,
    );
  }
  return inside.path;
}

/** The caller's request cannot work here; nothing was sent. */
function invalidRequest(message: string): ToolkitError {
  return new ToolkitError("invalid", message);
}
