// The local stand-in for ai-toolkit's own web UI server (port 8675): `npm run build_and_start`
// in ai-toolkit's ui/ folder, i.e. the front server (ui/cron/fileServer.ts) in front of Next.js
// (ui/src/app/api/**, ui/src/middleware.ts) plus the queue worker (ui/cron/worker.ts), with a
// simulated trainer in place of `python run.py`. See docs/ai-toolkit-ui-api.md and the
// "UI stand-in" section of tunnel/README.md.
//
// Library: startUiToolkitServer(options). CLI: `node tunnel/ui-toolkit/server.ts`, configured by
// UI_TOOLKIT_HOST, UI_TOOLKIT_PORT (8675), UI_TOOLKIT_DATA_DIR (./ui-toolkit-data),
// AI_TOOLKIT_AUTH (the token, as upstream), UI_TOOLKIT_STEP_MS, UI_TOOLKIT_TICK_MS,
// UI_TOOLKIT_GPUS (how many fake GPUs /api/gpu reports; none by default) and MODELS_PATH.

import { mkdirSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { closeOnSignals, envNumber, runIfMain } from "../toolkit/cli.ts";
import { addDatasetRoutes } from "./datasets.ts";
import { filePrefix, serveFile } from "./files.ts";
import { json, Router, send, text } from "./http.ts";
import { addJobFileRoutes } from "./job-files.ts";
import { addJobRoutes } from "./jobs.ts";
import { addMediaRoutes } from "./media.ts";
import { Processes, QueueWorker } from "./queue.ts";
import { authorised, FAKE_HF_TOKEN, seedSettings, Settings, UNAUTHORISED } from "./settings.ts";
import { Store } from "./store.ts";
import { addSystemRoutes, type FakeGpu, fakeGpu } from "./system.ts";

export interface UiToolkitServerOptions {
  /** Port to listen on; 0 picks a free one. Default 8675, the real UI's. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Stands for the ai-toolkit folder: the store (aitk_db.json), output/, datasets/, data/. */
  dataDir: string;
  /** AI_TOOLKIT_AUTH: when set, /api/* (but /api/img/ and /api/files/) needs it as a bearer token. */
  token?: string | undefined;
  /** Queue worker interval, default 1000 ms as upstream; 0 = no automatic ticks (call tick()). */
  tickMs?: number | undefined;
  /** Simulated trainer: time per step, sample image and loading phase (default 20 ms). */
  stepMs?: number;
  /** GPUs /api/gpu reports: a count of identical fake cards, or a list; none (or 0) = no nvidia-smi. */
  gpus?: number | FakeGpu[] | undefined;
  /** HF_TOKEN seeded into a new store (a fake one by default). */
  hfToken?: string;
  /** Settings rows written over the store's at start (TRAINING_FOLDER, DATASETS_FOLDER, ...). */
  settings?: Record<string, string>;
  /** Stands for MODELS_PATH in the UI's environment (wins over the setting). */
  modelsPath?: string | undefined;
  /** Behave as on a Mac: new jobs get gpu_ids "mps". */
  isMac?: boolean;
  /** Receives one line per request and worker event; silent when absent. */
  log?: (line: string) => void;
}

export interface UiToolkitServer {
  url: string;
  port: number;
  /** Absolute data folder. */
  dataDir: string;
  /** Runs one queue-worker pass now. */
  tick(): Promise<void>;
  /** Stops the worker and the server. Running trainers die without a word: their rows stay "running". */
  close(): Promise<void>;
}

const HOME_PAGE =
  "<!DOCTYPE html><html><head><title>AI Toolkit (local UI stand-in)</title></head><body>AI Toolkit UI " +
  "stand-in</body></html>";

export async function startUiToolkitServer(options: UiToolkitServerOptions): Promise<UiToolkitServer> {
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const store = Store.open(path.join(dataDir, "aitk_db.json"), seedSettings(dataDir, options.hfToken ?? FAKE_HF_TOKEN));
  if (options.settings) store.setSettings(options.settings);
  const settings = new Settings(store, dataDir, options.modelsPath);
  const processes = new Processes();
  const log = options.log;
  const worker = new QueueWorker({ store, settings, processes, stepMs: options.stepMs ?? 20, log });

  const router = new Router();
  addJobRoutes(router, { store, settings, processes, isMac: options.isMac ?? false, log });
  addJobFileRoutes(router, store, settings);
  addDatasetRoutes(router, settings);
  addMediaRoutes(router, settings);
  const gpus =
    typeof options.gpus === "number"
      ? options.gpus > 0
        ? Array.from({ length: options.gpus }, (_, i) => fakeGpu(i))
        : null
      : (options.gpus ?? null);
  addSystemRoutes(router, gpus);
  router.add("GET", "/api/auth", async () => json({ isAuthenticated: true }));
  router.add("GET", "/api/settings", () => settings.get());
  router.add("POST", "/api/settings", (req) => settings.post(req));

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<string> => {
    const rawPath = (req.url ?? "").split("?")[0] ?? "";
    const prefix = filePrefix(req.method, rawPath);
    if (prefix) {
      await serveFile(req, res, prefix, settings);
      return `file ${res.statusCode}`;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname.length > 1 && url.pathname.endsWith("/")) {
      const location = url.pathname.replace(/\/+$/, "") + url.search;
      send(res, { status: 308, headers: { location, refresh: `0;url=${location}` }, body: location }, req.method);
      return "308";
    }
    if (!authorised(url.pathname, req.headers.authorization, options.token)) {
      send(res, UNAUTHORISED, req.method);
      return "401";
    }
    const answer =
      url.pathname === "/" && (req.method === "GET" || req.method === "HEAD")
        ? { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: HOME_PAGE }
        : await router.handle(req, url);
    send(res, answer, req.method);
    return String(answer.status);
  };

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res).then(
      (outcome) => log?.(`${req.method} ${req.url} ${outcome} ${Date.now() - started}ms`),
      (error: unknown) => {
        log?.(`${req.method} ${req.url} failed: ${error instanceof Error ? error.message : String(error)}`);
        if (res.headersSent) res.destroy();
        else send(res, text("Internal Server Error", 500), req.method);
      },
    );
  });
  // Uploads can be huge (upstream allows 100 GB bodies): no request timeout, as upstream.
  server.requestTimeout = 0;

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8675, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const tickMs = options.tickMs ?? 1000;
  if (tickMs > 0) worker.start(tickMs);
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    dataDir,
    tick: () => worker.tick(),
    close: () => {
      closing ??= (async () => {
        await worker.stop();
        await processes.vanish();
        store.flush();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const server = await startUiToolkitServer({
    host: env.UI_TOOLKIT_HOST || "127.0.0.1",
    port: envNumber(env.UI_TOOLKIT_PORT, "UI_TOOLKIT_PORT") ?? 8675,
    dataDir: path.resolve(env.UI_TOOLKIT_DATA_DIR ?? "./ui-toolkit-data"),
    token: env.AI_TOOLKIT_AUTH || undefined,
    stepMs: envNumber(env.UI_TOOLKIT_STEP_MS, "UI_TOOLKIT_STEP_MS") ?? 200,
    tickMs: envNumber(env.UI_TOOLKIT_TICK_MS, "UI_TOOLKIT_TICK_MS"),
    gpus: envNumber(env.UI_TOOLKIT_GPUS, "UI_TOOLKIT_GPUS"),
    modelsPath: env.MODELS_PATH || undefined,
    log: (line) => console.error(line),
  });
  console.log(
    `AI Toolkit UI stand-in listening on ${server.url} (data: ` +
      `${server.dataDir}${env.AI_TOOLKIT_AUTH ? ", token required" : ""})`,
  );
  closeOnSignals(() => server.close(), "closing");
}

runIfMain(import.meta.url, main);
