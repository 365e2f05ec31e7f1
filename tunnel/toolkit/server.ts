// The local toolkit: an HTTP server that speaks the LAN toolkit protocol
// (docs/toolkit-protocol.md) so the Worker can be developed and tested without a GPU
// box, and so someone without the original server can run this one next to ai-toolkit.
//
//   GET  /health        {"status":"healthy","server":"AI Toolkit MCP Server","version":"2.0.0"}
//   GET  /mcp/tools     {"tools":[{name, description, parameters}]}
//   POST /mcp/execute   {"tool", "arguments"|"parameters"} -> 200 {"success","result","error"}
//
// Library: startToolkitServer(options). CLI: `node tunnel/toolkit/server.ts`, configured by
// TOOLKIT_HOST, TOOLKIT_PORT, TOOLKIT_DATA_DIR, AI_TOOLKIT_PATH, AI_TOOLKIT_PYTHON and
// TOOLKIT_SIM_STEP_MS (SIM_* variables reach the simulated trainer as they are).

import { mkdir } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

import { closeOnSignals, envNumber, runIfMain } from "./cli.ts";
import { jsonBody } from "./json-body.ts";
import { DataLayout, FOLDERS } from "./paths.ts";
import { BodyTooLarge, parseExecuteBody, readBody } from "./request.ts";
import { JobRegistry } from "./trainer.ts";
import type { ToolContext } from "./tools/common.ts";
import { executeTool, TOOL_DESCRIPTIONS } from "./tools/index.ts";

export interface ToolkitServerOptions {
  /** Port to listen on; 0 picks a free one. Default 8012, the real toolkit's. */
  port?: number;
  /** Default 127.0.0.1: the protocol has no authentication, so listen wider only on purpose. */
  host?: string;
  /** Stands for `/ai-toolkit`: config/, datasets/, outputs/ live here. Created when missing. */
  dataDir: string;
  /** An ai-toolkit checkout; when it has run.py, jobs run it instead of the simulated trainer. */
  aiToolkitPath?: string | undefined;
  /** Python for ai-toolkit (default "python"). */
  python?: string | undefined;
  /** Simulated trainer: milliseconds per step (SIM_STEP_MS, default 20). */
  simulatedStepMs?: number | undefined;
  /** Simulated trainer: run this many steps whatever the config says (SIM_STEPS). */
  simulatedSteps?: number;
  /** Simulated trainer: crash with a CUDA OOM traceback at this step (SIM_FAIL_AT_STEP). */
  simulatedFailAtStep?: number;
  /** Simulated trainer: make the model file exactly this many bytes (SIM_MODEL_BYTES). */
  simulatedModelBytes?: number;
  /** Any other environment for the simulated trainer. */
  simulatedEnv?: Record<string, string>;
  /** Largest request body accepted, default 512 MiB (a V8 string cannot be much longer). */
  maxBodyBytes?: number;
  /** Receives one line per request; silent when absent. */
  log?: (line: string) => void;
}

export interface ToolkitServer {
  url: string;
  port: number;
  /** Absolute data folder. */
  dataDir: string;
  /** What runs jobs: "simulated", or "ai-toolkit at <path>". */
  trainer: string;
  /** Stops running trainers, then the server. */
  close(): Promise<void>;
}

const HEALTH = { status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" };
// V8's longest string is 2^29 - 24 characters; the body becomes one string for JSON.parse.
const DEFAULT_MAX_BODY = 512 * 1024 * 1024 - 64;

function simulatedEnv(options: ToolkitServerOptions): Record<string, string> {
  const env: Record<string, string> = { ...options.simulatedEnv };
  const knobs: Array<[string, number | undefined]> = [
    ["SIM_STEP_MS", options.simulatedStepMs],
    ["SIM_STEPS", options.simulatedSteps],
    ["SIM_FAIL_AT_STEP", options.simulatedFailAtStep],
    ["SIM_MODEL_BYTES", options.simulatedModelBytes],
  ];
  for (const [name, value] of knobs) if (value !== undefined) env[name] = String(value);
  return env;
}

/**
 * Every answer the way the original's uvicorn sends a JSONResponse: the whole body built first,
 * then written at once with its Content-Length (see json-body.ts).
 */
async function sendJson(res: ServerResponse, status: number, value: unknown): Promise<void> {
  const body = await jsonBody(value);
  res.writeHead(status, { "content-type": "application/json", "content-length": body.length });
  res.end(body);
}

const ROUTES: Record<string, string> = { "/health": "GET", "/mcp/tools": "GET", "/mcp/execute": "POST" };

async function handle(req: IncomingMessage, res: ServerResponse, ctx: ToolContext, maxBody: number): Promise<string> {
  const pathname = new URL(req.url ?? "/", "http://toolkit").pathname;
  const method = ROUTES[pathname];
  if (method === undefined) {
    await sendJson(res, 404, { detail: "Not Found" });
    return "404";
  }
  if (req.method !== method) {
    res.setHeader("allow", method);
    await sendJson(res, 405, { detail: "Method Not Allowed" });
    return "405";
  }
  if (pathname === "/health") {
    await sendJson(res, 200, HEALTH);
    return "200";
  }
  if (pathname === "/mcp/tools") {
    await sendJson(res, 200, { tools: TOOL_DESCRIPTIONS });
    return "200";
  }
  let body: Buffer;
  try {
    body = await readBody(req, maxBody);
  } catch (error) {
    if (!(error instanceof BodyTooLarge)) throw error;
    // Hang up once the answer is out rather than read hundreds of MB only to discard them.
    res.setHeader("connection", "close");
    res.once("finish", () => req.destroy());
    await sendJson(res, 413, { detail: `Request body larger than ${maxBody} bytes` });
    return "413";
  }
  const parsed = parseExecuteBody(body);
  if (!parsed.ok) {
    await sendJson(res, 422, parsed.detail);
    return "422";
  }
  const envelope = await executeTool(parsed.tool, parsed.args, ctx);
  await sendJson(res, 200, envelope);
  return `200 ${parsed.tool} success=${envelope.success}`;
}

export async function startToolkitServer(options: ToolkitServerOptions): Promise<ToolkitServer> {
  const layout = new DataLayout(options.dataDir);
  for (const folder of FOLDERS) await mkdir(layout.dir(folder), { recursive: true });
  const jobs = new JobRegistry({
    layout,
    aiToolkitPath: options.aiToolkitPath,
    python: options.python,
    simulatedEnv: simulatedEnv(options),
  });
  const ctx: ToolContext = { layout, jobs };
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const log = options.log;

  const server = createServer((req, res) => {
    const started = Date.now();
    handle(req, res, ctx, maxBody).then(
      (outcome) => log?.(`${req.method} ${req.url} ${outcome} ${Date.now() - started}ms`),
      (error: unknown) => {
        log?.(`${req.method} ${req.url} failed: ${error instanceof Error ? error.message : String(error)}`);
        // Headers may be out already: all that is left is to hang up.
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, { detail: "Internal Server Error" }).catch(() => res.destroy());
      },
    );
  });
  // Uploads and downloads of hundreds of MB through a tunnel take a while; Node's default of
  // five minutes per request would cut them.
  server.requestTimeout = 60 * 60 * 1000;

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8012, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(":") ? `[${host}]` : host;

  const toolkit = jobs.realToolkit();
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    dataDir: layout.root,
    trainer: toolkit ? `ai-toolkit at ${toolkit}` : "simulated",
    close: () => {
      closing ??= (async () => {
        await jobs.stopAll();
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
  const dataDir = path.resolve(env.TOOLKIT_DATA_DIR ?? "./toolkit-data");
  const server = await startToolkitServer({
    host: env.TOOLKIT_HOST || "127.0.0.1",
    port: envNumber(env.TOOLKIT_PORT, "TOOLKIT_PORT") ?? 8012,
    dataDir,
    aiToolkitPath: env.AI_TOOLKIT_PATH || undefined,
    python: env.AI_TOOLKIT_PYTHON || undefined,
    simulatedStepMs: envNumber(env.TOOLKIT_SIM_STEP_MS, "TOOLKIT_SIM_STEP_MS"),
    log: (line) => console.error(line),
  });
  console.log(
    `AI Toolkit local server listening on ${server.url} (data: ${server.dataDir}, trainer: ${server.trainer})`,
  );

  closeOnSignals(() => server.close(), "stopping trainers and closing");
}

runIfMain(import.meta.url, main);
