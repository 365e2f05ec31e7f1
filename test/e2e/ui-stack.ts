import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, expect } from "vitest";
import { callTool, startStack, type Stack } from "./harness";

/**
 * A stack against ai-toolkit's UI stand-in for suites that call the tools and check what the UI
 * holds: short, fast runs (one step every ~15 ms, queue ticks every 100 ms, one fake GPU), and the
 * Worker polling often. The UI's DATASETS_FOLDER is a folder of its own that the Worker also gets
 * as DATASETS_ROOT: create_training_config checks dataset_path against the Worker's setting.
 */
export type Structured = Record<string, unknown>;

export interface UiSuite {
  readonly stack: Stack;
  readonly client: Client;
  /** The UI's DATASETS_FOLDER and the Worker's DATASETS_ROOT. */
  readonly datasetsDir: string;
  /** The UI's TRAINING_FOLDER: each job's log, loss log, samples and models are in <it>/<job name>. */
  readonly trainingFolder: string;
  /** Calls a tool that must succeed; answers its structured content. */
  ok(name: string, args?: Record<string, unknown>): Promise<Structured>;
  /** Calls a tool that must fail; answers its text. */
  refused(name: string, args: Record<string, unknown>): Promise<string>;
  /** Calls wait_for_training until the job ends (or `until` holds), then answers its last view. */
  waitFor(jobId: string, until?: (view: Structured) => boolean): Promise<Structured>;
  /** Polls get_training_status until `until` holds. */
  statusUntil(jobId: string, until: (view: Structured) => boolean, what: string): Promise<Structured>;
  /** The stand-in's own API, with its token. */
  uiApi(route: string, init?: RequestInit): Promise<unknown>;
  /** Saves a configuration for `name` on the dataset `dataset` and starts it; answers the job id. */
  train(name: string, steps: number, dataset: string, extra?: Record<string, unknown>): Promise<string>;
}

/** Registers the stack's start and stop with the suite; its fields are there from the first test on. */
export function useUiSuite(): UiSuite {
  let stack: Stack | undefined;
  let client: Client | undefined;
  let datasetsDir = "";
  const ready = () => {
    if (!stack || !client) throw new Error("the UI stack is not started (used outside a test?)");
    return { stack, client };
  };

  beforeAll(async () => {
    datasetsDir = await mkdtemp(path.join(tmpdir(), "ui-suite-datasets-"));
    stack = await startStack({
      toolkit: "ui",
      ui: { tickMs: 100, stepMs: 15, gpus: 1, settings: { DATASETS_FOLDER: datasetsDir } },
      workerVars: {
        DATASETS_ROOT: datasetsDir,
        TRAINING_POLL_INTERVAL_MS: "500",
        TRAINING_POLL_FAST_MS: "300",
        TRAINING_STATUS_FRESH_MS: "200",
      },
    });
    client = await stack.connect();
  });
  afterAll(async () => {
    await stack?.stop();
    if (datasetsDir) await rm(datasetsDir, { recursive: true, force: true });
  });

  const suite: UiSuite = {
    get stack() {
      return ready().stack;
    },
    get client() {
      return ready().client;
    },
    get datasetsDir() {
      return datasetsDir;
    },
    get trainingFolder() {
      return path.join(ready().stack.ui?.dataDir ?? "", "output");
    },
    async ok(name, args = {}) {
      const result = await callTool(ready().client, name, args);
      expect(result.isError, `${name}: ${result.content[0]?.text}`).toBeFalsy();
      return result.structuredContent ?? {};
    },
    async refused(name, args) {
      const result = await callTool(ready().client, name, args);
      expect(result.isError, `${name} should have failed: ${result.content[0]?.text}`).toBe(true);
      return result.content[0]?.text ?? "";
    },
    async waitFor(jobId, until = () => false) {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const view = await suite.ok("wait_for_training", { job_id: jobId, timeout_seconds: 5 });
        if (until(view) || ["completed", "failed", "stopped", "lost"].includes(String(view.status))) return view;
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not get there: ${JSON.stringify(view)}`);
      }
    },
    async statusUntil(jobId, until, what) {
      const deadline = Date.now() + 120_000;
      let view = await suite.ok("get_training_status", { job_id: jobId });
      while (!until(view)) {
        if (Date.now() > deadline) throw new Error(`job ${jobId} never ${what}: ${JSON.stringify(view)}`);
        await new Promise((r) => setTimeout(r, 200));
        view = await suite.ok("get_training_status", { job_id: jobId });
      }
      return view;
    },
    async uiApi(route, init = {}) {
      const { stack } = ready();
      const response = await fetch(`${stack.toolkitUrl}${route}`, {
        ...init,
        headers: { Authorization: `Bearer ${stack.ui?.token}`, "Content-Type": "application/json" },
      });
      expect(response.ok, `${route}: ${response.status}`).toBe(true);
      return response.json();
    },
    async train(name, steps, dataset, extra = {}) {
      await suite.ok("create_training_config", {
        name,
        model_name: "black-forest-labs/FLUX.1-dev",
        dataset_path: path.join(datasetsDir, dataset),
        steps,
        ...extra,
      });
      const started = await suite.ok("start_training", { config_name: name });
      return String(started.job_id);
    },
  };
  return suite;
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
