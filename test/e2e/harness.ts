import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startToolkitServer } from "../../tunnel/toolkit/server.ts";
import { startUiToolkitServer, type UiToolkitServerOptions } from "../../tunnel/ui-toolkit/server.ts";
import { obtainAccessToken } from "../shared/oauth-flow";

/**
 * The whole product on loopback: a local toolkit (the original bridge's stand-in, or ai-toolkit's
 * UI's), `wrangler dev` pointed at it, an owner password, and an OAuth token obtained the way a
 * user would. Every end-to-end suite starts one of these; nothing here talks to anything but
 * 127.0.0.1.
 */
export const OWNER_PASSWORD = "e2e-owner-password-0123456789";
const ROOT = resolve(import.meta.dirname, "../..");

export interface StackOptions {
  /**
   * Which upstream the Worker talks to: the bridge's stand-in (tunnel/toolkit, the default) or
   * ai-toolkit's UI's (tunnel/ui-toolkit, started with a token; the Worker gets AI_TOOLKIT_API=ui
   * and that token as AI_TOOLKIT_AUTH).
   */
  toolkit?: "bridge" | "ui";
  /** Extra environment for the bridge's stand-in (e.g. TOOLKIT_SIM_STEP_MS, SIM_MODEL_BYTES). */
  toolkitEnv?: Record<string, string>;
  /** Options of the UI stand-in (toolkit "ui"): tickMs (0: call ui.tick()), stepMs, gpus, settings... */
  ui?: Omit<UiToolkitServerOptions, "port" | "host" | "dataDir" | "token">;
  /** Extra Worker variables, passed to wrangler dev as --var (AI_TOOLKIT_AUTH here overrides the UI's token). */
  workerVars?: Record<string, string>;
}

/** The UI stand-in of a stack started with toolkit "ui". */
export interface UiStandIn {
  url: string;
  port: number;
  /** Stands for the ai-toolkit folder: aitk_db.json, output/, datasets/, data/. */
  dataDir: string;
  /** The token it was started with (what the Worker gets as AI_TOOLKIT_AUTH unless workerVars says otherwise). */
  token: string;
  /** Runs one queue-worker pass now (with ui.tickMs 0, the only way jobs move). */
  tick(): Promise<void>;
}

export interface Stack {
  workerUrl: string;
  toolkit: "bridge" | "ui";
  toolkitUrl: string;
  /** The local toolkit's data folder (bridge: config/, datasets/, outputs/; UI: see UiStandIn). */
  dataDir: string;
  /** The UI stand-in, when the stack runs against it. */
  ui?: UiStandIn;
  accessToken: string;
  /** PID of wrangler dev (its workerd child is where the Worker runs). */
  wranglerPid: number;
  /** A connected MCP SDK 1.x client (what claude.ai and most clients speak today). */
  connect(): Promise<Client>;
  /** Stops and restarts the toolkit on the same port: the bridge forgets every job, like the real one; the UI keeps its store. */
  restartToolkit(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

async function startToolkit(dataDir: string, port: number, env: Record<string, string>) {
  // Same knobs as the toolkit's CLI: TOOLKIT_SIM_STEP_MS, and SIM_* for the simulated trainer.
  const { TOOLKIT_SIM_STEP_MS, ...simulatedEnv } = env;
  return startToolkitServer({
    port,
    host: "127.0.0.1",
    dataDir,
    simulatedStepMs: TOOLKIT_SIM_STEP_MS ? Number(TOOLKIT_SIM_STEP_MS) : undefined,
    simulatedEnv,
  });
}

/**
 * Starts `wrangler dev` on 127.0.0.1:<port> and waits until it answers. The first request the
 * Worker serves is the readiness probe, sent to `probeHost` (127.0.0.1, or localhost to make
 * that the first hostname the Worker sees).
 */
export async function startWrangler(
  port: number,
  vars: Record<string, string>,
  persistDir: string,
  probeHost = "127.0.0.1",
): Promise<ChildProcess> {
  const args = [
    join(ROOT, "node_modules/wrangler/bin/wrangler.js"),
    "dev",
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--inspector-port",
    String(await freePort()),
    "--persist-to",
    persistDir,
    "--show-interactive-dev-session=false",
    "--log-level",
    "warn",
  ];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited early:\n${output}`);
    try {
      const response = await fetch(`http://${probeHost}:${port}/`);
      if (response.ok) return child;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  child.kill("SIGTERM");
  throw new Error(`wrangler dev did not start within 90 s:\n${output}`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill("SIGTERM");
  });
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const scratch = await mkdtemp(join(tmpdir(), "ai-toolkit-e2e-"));
  const kind = options.toolkit ?? "bridge";
  const dataDir = join(scratch, kind === "ui" ? "ui-toolkit" : "toolkit");
  const toolkitPort = await freePort();
  const toolkitEnv = { TOOLKIT_SIM_STEP_MS: "20", ...options.toolkitEnv };
  const token = randomBytes(18).toString("base64url");
  // The UI keeps its jobs in its data folder, so a restart on the same folder remembers them, as upstream.
  const startUi = () => startUiToolkitServer({ ...options.ui, port: toolkitPort, host: "127.0.0.1", dataDir, token });
  const startLocal = () => (kind === "ui" ? startUi() : startToolkit(dataDir, toolkitPort, toolkitEnv));
  let toolkit: { url: string; close(): Promise<void>; tick?: () => Promise<void> } = await startLocal();

  const workerPort = await freePort();
  let wrangler: ChildProcess;
  try {
    wrangler = await startWrangler(
      workerPort,
      {
        OWNER_PASSWORD,
        AI_TOOLKIT_HOST: "127.0.0.1",
        AI_TOOLKIT_PORT: String(toolkitPort),
        ...(kind === "ui" ? { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: token } : {}),
        ...options.workerVars,
      },
      join(scratch, "wrangler-state"),
    );
  } catch (error) {
    await toolkit.close();
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  const workerUrl = `http://127.0.0.1:${workerPort}`;
  const accessToken = await obtainAccessToken(workerUrl, OWNER_PASSWORD);
  const clients: Client[] = [];

  const ui: UiStandIn | undefined =
    kind === "ui"
      ? {
          get url() {
            return toolkit.url;
          },
          port: toolkitPort,
          dataDir,
          token,
          tick: () => toolkit.tick?.() ?? Promise.resolve(),
        }
      : undefined;

  return {
    workerUrl,
    toolkit: kind,
    get toolkitUrl() {
      return toolkit.url;
    },
    dataDir,
    ...(ui ? { ui } : {}),
    accessToken,
    wranglerPid: wrangler.pid ?? 0,
    async connect() {
      const client = new Client({ name: "e2e", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(`${workerUrl}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${accessToken}` } },
      });
      await client.connect(transport);
      clients.push(client);
      return client;
    },
    async restartToolkit() {
      await toolkit.close();
      toolkit = await startLocal();
    },
    async stop() {
      await Promise.allSettled(clients.map((client) => client.close()));
      await stopProcess(wrangler);
      await toolkit.close();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/** Calls a tool and returns its result, failing the test on a protocol-level error. */
export async function callTool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = await client.callTool({ name, arguments: args });
  return result as {
    isError?: boolean;
    content: Array<{ type: string; text?: string }>;
    structuredContent?: Record<string, unknown>;
  };
}
