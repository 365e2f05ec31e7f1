// The UI's settings and the folders they name, plus the auth check of ui/src/middleware.ts.
//
// The data folder stands for the ai-toolkit folder (TOOLKIT_ROOT): the defaults are its
// `output/` (TRAINING_FOLDER), `datasets/`, `data/` (DATA_ROOT) and `models/`, and the store
// lives there too. A relative setting is taken relative to the data folder.

import path from "node:path";

import { type Answer, type ApiRequest, json } from "./http.ts";
import type { Store } from "./store.ts";

/** Not a real token: it only lets clients be tested for never repeating or storing it. */
export const FAKE_HF_TOKEN = "hf_UiStandInFakeTokenNeverShowThis0000";

export function defaultFolders(root: string): { training: string; datasets: string; data: string; models: string } {
  return {
    training: path.join(root, "output"),
    datasets: path.join(root, "datasets"),
    data: path.join(root, "data"),
    models: path.join(root, "models"),
  };
}

/** What a fresh store holds: as if the user had saved the settings page once, plus DATA_ROOT. */
export function seedSettings(root: string, hfToken: string): Record<string, string> {
  const folders = defaultFolders(root);
  return {
    HF_TOKEN: hfToken,
    TRAINING_FOLDER: folders.training,
    DATASETS_FOLDER: folders.datasets,
    MODELS_PATH: folders.models,
    DATA_ROOT: folders.data,
  };
}

export class Settings {
  readonly root: string;
  private readonly store: Store;
  /** Stands for a MODELS_PATH in the UI's environment, which wins over the setting. */
  private readonly modelsPathEnv: string | undefined;

  constructor(store: Store, root: string, modelsPathEnv?: string) {
    this.store = store;
    this.root = root;
    this.modelsPathEnv = modelsPathEnv;
  }

  private folder(key: string, fallback: string): string {
    const value = this.store.settings()[key];
    return path.resolve(this.root, value !== undefined && value !== "" ? value : fallback);
  }

  trainingFolder(): string {
    return this.folder("TRAINING_FOLDER", defaultFolders(this.root).training);
  }

  datasetsFolder(): string {
    return this.folder("DATASETS_FOLDER", defaultFolders(this.root).datasets);
  }

  dataRoot(): string {
    return this.folder("DATA_ROOT", defaultFolders(this.root).data);
  }

  /**
   * True when `target` lies strictly inside the data folder or one of the configured folders:
   * the stand-in's guard for routes that upstream lets write or delete wherever a `..` points.
   */
  mayTouch(target: string): boolean {
    const resolved = path.resolve(target);
    return [this.root, this.trainingFolder(), this.datasetsFolder(), this.dataRoot()].some((dir) =>
      resolved.startsWith(dir + path.sep),
    );
  }

  /** GET /api/settings: the rows as they are (HF_TOKEN included), defaults filled in. */
  answer(): Record<string, string> {
    const result = this.store.settings();
    const folders = defaultFolders(this.root);
    if (!result.TRAINING_FOLDER) result.TRAINING_FOLDER = folders.training;
    if (!result.DATASETS_FOLDER) result.DATASETS_FOLDER = folders.datasets;
    if (this.modelsPathEnv !== undefined && this.modelsPathEnv.trim() !== "") result.MODELS_PATH = this.modelsPathEnv;
    else if (!result.MODELS_PATH) result.MODELS_PATH = folders.models;
    return result;
  }

  async get(): Promise<Answer> {
    return json(this.answer());
  }

  /**
   * POST /api/settings: upserts the four keys. Like Prisma's upserts, a missing value is
   * ignored for an existing row and fails for a new one; anything but a string fails.
   */
  async post(req: ApiRequest): Promise<Answer> {
    const failed = json({ error: "Failed to update settings" }, 500);
    let body: Record<string, unknown>;
    try {
      body = ((await req.json()) ?? {}) as Record<string, unknown>;
    } catch {
      return failed;
    }
    const current = this.store.settings();
    const updates: Record<string, string> = {};
    let ok = true;
    for (const key of ["HF_TOKEN", "TRAINING_FOLDER", "DATASETS_FOLDER", "MODELS_PATH"]) {
      const value = body[key];
      if (typeof value === "string") updates[key] = value;
      else if (!(value === undefined && key in current)) ok = false;
    }
    this.store.setSettings(updates);
    return ok ? json({ success: true }) : failed;
  }
}

/**
 * ui/src/middleware.ts: with a token, every /api/ path but /api/img/ and /api/files/ needs
 * `Authorization: <anything> <token>` (the second space-separated word must equal the token).
 */
export function authorised(pathname: string, authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined || token === "") return true;
  if (pathname.startsWith("/api/img/") || pathname.startsWith("/api/files/")) return true;
  if (!pathname.startsWith("/api/")) return true;
  const given = authorization?.split(" ")[1];
  return given !== undefined && given !== "" && given === token;
}

export const UNAUTHORISED: Answer = {
  status: 401,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ error: "Unauthorized" }),
};
