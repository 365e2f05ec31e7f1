import { UiUpstream } from "../../../src/toolkit/ui/upstream";
import type { TrainingConfigRequest } from "../../../src/toolkit/upstream";
import { json, ScriptedUi } from "./ui-scripted";

/** The folders of a UI on Linux, as GET /api/settings answers them (with the HF token beside them). */
export const FOLDERS = {
  TRAINING_FOLDER: "/home/me/ai-toolkit/output",
  DATASETS_FOLDER: "/home/me/ai-toolkit/datasets",
  DATA_ROOT: "/home/me/ai-toolkit",
  HF_TOKEN: "hf_secret_never_relayed",
};

export const TOKEN = "ui-t0ken-do-not-leak";

export function upstreamOn(ui: ScriptedUi, options: { token?: string; timeoutMs?: number } = {}): UiUpstream {
  return new UiUpstream(ui, { token: options.token ?? TOKEN, timeoutMs: options.timeoutMs ?? 1000, gpuIds: "0" });
}

/** A UI with its settings and datasets answered; jobs are the test's. */
export function uiWithFolders(datasets: string[] = ["my_set"]): ScriptedUi {
  return new ScriptedUi().on("GET /api/settings", json(FOLDERS)).on("GET /api/datasets/list", json(datasets));
}

export const REQUEST: TrainingConfigRequest = {
  name: "my_lora",
  model_name: "black-forest-labs/FLUX.1-dev",
  dataset_path: "/home/me/ai-toolkit/datasets/my_set",
  steps: 2000,
  rank: 16,
  alpha: 16,
};
