// Shared set-up for the UI stand-in's tests: a server on a free port over a fresh data folder,
// fast ticks and fast simulated steps.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  startUiToolkitServer,
  type UiToolkitServer,
  type UiToolkitServerOptions,
} from "../../../tunnel/ui-toolkit/server.ts";
import type { JobRow } from "../../../tunnel/ui-toolkit/store.ts";

export const TOKEN = "test-ui-token";

/** The Job row as the stand-in stores it, field for field as the UI's Prisma model. */
export type { JobRow };

export interface Harness {
  server: UiToolkitServer;
  sandbox: string;
  dataDir: string;
  /** Training folder as the UI sees it. */
  training: string;
  /** fetch against the server, with the token unless `auth: false`. */
  fetch(pathname: string, init?: RequestInit & { auth?: boolean }): Promise<Response>;
  /** JSON of a call that must answer 200. */
  json<T = unknown>(pathname: string, init?: RequestInit & { auth?: boolean }): Promise<T>;
  post<T = unknown>(pathname: string, body: unknown): Promise<T>;
  job(id: string): Promise<JobRow>;
  close(): Promise<void>;
}

export async function startHarness(
  options: Partial<UiToolkitServerOptions> = {},
  existingSandbox?: string,
): Promise<Harness> {
  const sandbox = existingSandbox ?? (await mkdtemp(path.join(tmpdir(), "ui-toolkit-test-")));
  const dataDir = path.join(sandbox, "aitk");
  const server = await startUiToolkitServer({ port: 0, dataDir, token: TOKEN, tickMs: 20, stepMs: 4, ...options });
  const doFetch = (pathname: string, init: RequestInit & { auth?: boolean } = {}): Promise<Response> => {
    const headers = new Headers(init.headers);
    if (init.auth !== false) headers.set("authorization", `Bearer ${TOKEN}`);
    return fetch(`${server.url}${pathname}`, { ...init, headers });
  };
  const json = async <T>(pathname: string, init?: RequestInit & { auth?: boolean }): Promise<T> => {
    const response = await doFetch(pathname, init);
    const body = await response.text();
    if (response.status !== 200) throw new Error(`${pathname}: HTTP ${response.status}: ${body}`);
    return JSON.parse(body) as T;
  };
  return {
    server,
    sandbox,
    dataDir,
    training: path.join(dataDir, "output"),
    fetch: doFetch,
    json,
    post: (pathname, body) =>
      json(pathname, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    job: (id) => json<JobRow>(`/api/jobs?id=${id}`),
    close: () => server.close(),
  };
}

export async function removeSandbox(sandbox: string): Promise<void> {
  await rm(sandbox, { recursive: true, force: true });
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/** Waits until the job's row satisfies `test`, and returns it. */
export function waitForJob(
  h: Harness,
  id: string,
  test: (row: JobRow) => boolean,
  what: string,
  timeoutMs?: number,
): Promise<JobRow> {
  return waitFor(
    async () => {
      const row = await h.job(id);
      return test(row) ? row : undefined;
    },
    what,
    timeoutMs,
  );
}

/** A job config the way the UI's New Job page builds it, trimmed to what the simulator reads. */
export function jobConfig(
  name: string,
  trainingFolder: string,
  overrides: {
    steps?: number;
    saveEvery?: number;
    sampleEvery?: number;
    prompts?: number;
    simulate?: Record<string, unknown>;
    keep?: number;
  } = {},
): Record<string, unknown> {
  return {
    job: "extension",
    config: {
      name,
      process: [
        {
          type: "diffusion_trainer",
          training_folder: trainingFolder,
          sqlite_db_path: "./aitk_db.db",
          device: "cuda",
          trigger_word: null,
          performance_log_every: 2,
          network: { type: "lora", linear: 8, linear_alpha: 8 },
          save: {
            dtype: "bf16",
            save_every: overrides.saveEvery ?? 4,
            max_step_saves_to_keep: overrides.keep ?? 4,
            save_format: "diffusers",
          },
          datasets: [{ folder_path: "/nonexistent/dataset", caption_ext: "txt", resolution: [512] }],
          train: {
            batch_size: 1,
            steps: overrides.steps ?? 10,
            lr: 0.0001,
            dtype: "bf16",
            noise_scheduler: "flowmatch",
            optimizer: "adamw8bit",
          },
          logging: { log_every: 1, use_ui_logger: true },
          model: { name_or_path: "ostris/Flex.1-alpha", arch: "flex1", quantize: true },
          sample: {
            sampler: "flowmatch",
            sample_every: overrides.sampleEvery ?? 5,
            width: 64,
            height: 64,
            samples: Array.from({ length: overrides.prompts ?? 2 }, (_, i) => ({ prompt: `prompt ${i}` })),
            seed: 42,
          },
          ...(overrides.simulate ? { simulate: overrides.simulate } : {}),
        },
      ],
    },
    meta: { name: "[name]", version: "1.0" },
  };
}

/** Creates a job whose folders match the UI's (the New Job page's way). */
export async function createJob(
  h: Harness,
  name: string,
  overrides: Parameters<typeof jobConfig>[2] = {},
  gpuIds = "0",
): Promise<JobRow> {
  return h.post<JobRow>("/api/jobs", { name, gpu_ids: gpuIds, job_config: jobConfig(name, h.training, overrides) });
}

/** The UI's Start button: queue the job, then switch its GPU's queue on. */
export async function startJob(h: Harness, row: JobRow): Promise<void> {
  await h.json(`/api/jobs/${row.id}/start`);
  await h.json(`/api/queue/${row.gpu_ids}/start`);
}
