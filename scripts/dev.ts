// `npm run dev`: the Worker on http://127.0.0.1:8787 and, unless a toolkit is configured,
// a local stand-in of the toolkit next to it: the original bridge's (tunnel/toolkit) or, with
// DEV_TOOLKIT=ui, ai-toolkit's UI's (tunnel/ui-toolkit). On the first run it writes .dev.vars
// with a generated owner password and prints that password once; the UI stand-in's token is
// kept there too. `npm run dev -- --help` lists the flags.
//
// Settings: --port (DEV_PORT, 8787), --toolkit (DEV_TOOLKIT, bridge), --toolkit-port
// (DEV_TOOLKIT_PORT, 8012 for the bridge, 8675 for the UI), DEV_DATA_DIR (.dev-data),
// DEV_VARS_FILE (.dev.vars). Which toolkit the Worker uses is decided by
// devWorkerTarget() in local-settings.ts, which `npm run doctor` shares; while it runs, dev
// records what it started in <data dir>/dev-run.json, where the doctor finds it.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  DEV_HOST,
  devSettings,
  devWorkerTarget,
  ensureUiToken,
  readDevVars,
  redacted,
  removeDevRun,
  UsageError,
  writeDevRun,
  type DevSettings,
} from "./local-settings.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `Usage: npm run dev [-- <flags>]

Serves the Worker on http://127.0.0.1:<port> with wrangler dev. Unless a toolkit is configured
(a TOOLKIT VPC binding in wrangler.toml, or AI_TOOLKIT_URL / AI_TOOLKIT_HOST in .dev.vars or
the environment), it also starts a local toolkit on 127.0.0.1:<toolkit port> and points the
Worker at it (AI_TOOLKIT_API): the original bridge's stand-in, or with --toolkit ui ai-toolkit's
UI's, which requires a token (AI_TOOLKIT_AUTH, generated once and kept in .dev.vars). The first
run writes .dev.vars with a generated OWNER_PASSWORD and prints it once.

Flags:
  --port <port>          the Worker's port (default: DEV_PORT, else 8787)
  --toolkit <bridge|ui>  which local toolkit: the bridge's or ai-toolkit's UI's stand-in
                         (default: DEV_TOOLKIT, else bridge)
  --toolkit-port <port>  the local toolkit's port (default: DEV_TOOLKIT_PORT, else 8012 for
                         the bridge, 8675 for the UI)
  -h, --help             print this help and exit

Environment: DEV_PORT, DEV_TOOLKIT, DEV_TOOLKIT_PORT, DEV_DATA_DIR (.dev-data: local storage
of the Worker and the local toolkit), DEV_VARS_FILE (.dev.vars).
Check the connection to the toolkit with: npm run doctor`;

/** Exit status for a bad command line (sysexits' EX_USAGE). */
const EXIT_USAGE = 64;

function readCommandLine(): DevSettings {
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        port: { type: "string" },
        "toolkit-port": { type: "string" },
        toolkit: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    return devSettings(root, process.env, {
      port: values.port,
      toolkitPort: values["toolkit-port"],
      toolkit: values.toolkit,
    });
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof TypeError)) throw error;
    // parseArgs reports unknown flags and missing values as TypeErrors (ERR_PARSE_ARGS_*).
    console.error(`npm run dev: ${error.message}\n\n${USAGE}`);
    process.exit(EXIT_USAGE);
  }
}

/** Why `port` cannot be listened on at 127.0.0.1 (EADDRINUSE, EACCES...), or undefined when it is free. */
function portProblem(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    probe.listen(port, DEV_HOST, () => probe.close(() => resolve(undefined)));
  });
}

/** A free port to suggest instead of `port`: the next one that is neither of ours and nobody holds. */
async function suggestPort(port: number, settings: DevSettings): Promise<number> {
  let other = port;
  for (let tries = 0; tries < 50; tries++) {
    do other = other >= 65535 ? 1024 : other + 1;
    while (other === settings.workerPort || other === settings.toolkitPort);
    if ((await portProblem(other)) === undefined) return other;
  }
  return other;
}

/** Both ports, before anything starts or anything is printed as ready. Exits with the fix when one is unusable. */
async function checkPorts(settings: DevSettings, withToolkit: boolean): Promise<void> {
  if (withToolkit && settings.workerPort === settings.toolkitPort) {
    console.error(
      `npm run dev: the Worker and the local toolkit cannot share port ${settings.workerPort}: give them ` +
        `different ports (--port, --toolkit-port).`,
    );
    process.exit(1);
  }
  const ports = [
    { port: settings.workerPort, what: "the Worker's port", flag: "--port", variable: "DEV_PORT" },
    ...(withToolkit
      ? [
          {
            port: settings.toolkitPort,
            what: "the local toolkit's port",
            flag: "--toolkit-port",
            variable: "DEV_TOOLKIT_PORT",
          },
        ]
      : []),
  ];
  let failed = false;
  for (const { port, what, flag, variable } of ports) {
    const problem = await portProblem(port);
    if (problem === undefined) continue;
    failed = true;
    const other = await suggestPort(port, settings);
    console.error(
      problem === "EADDRINUSE"
        ? `npm run dev: port ${port} (${what}) is already taken on ${DEV_HOST}: another \`npm run dev\` or ` +
            `another program listens there.`
        : `npm run dev: cannot listen on port ${port} (${what}) on ${DEV_HOST}: ${problem}.`,
    );
    console.error(
      `  Stop that program, or choose another port: npm run dev -- ${flag} ${other}   (or ` +
        `${variable}=${other} npm run dev)`,
    );
  }
  if (failed) process.exit(1);
}

const settings = readCommandLine();
const { varsFile, dataDir, workerPort } = settings;

function ensureVarsFile(): Record<string, string> {
  if (!existsSync(varsFile)) {
    const password = randomBytes(18).toString("base64url");
    writeFileSync(
      varsFile,
      `# Written by npm run dev. Secrets for wrangler dev; never commit this file.\nOWNER_PASSWORD=${password}\n`,
      { mode: 0o600 },
    );
    console.log(`\n  Owner password (shown once, kept in ${path.relative(root, varsFile)}): ${password}\n`);
  }
  return readDevVars(varsFile);
}

const children: ChildProcess[] = [];
let stopping = false;

function start(name: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: "inherit" });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`${name} exited (${signal ?? code}); stopping.`);
      stopAll(code ?? 1);
    }
  });
  return child;
}

/** Waits until `url` answers 2xx (the bridge's /health, the UI's home page, which needs no token). */
async function waitForToolkit(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    // It died (its own message says why, and its exit handler stops everything): do not
    // mistake whatever else answers on the port for it.
    if (child.exitCode !== null || child.signalCode !== null) return new Promise(() => {});
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the local toolkit did not answer ${url} within 10 s`);
}

function stopAll(code: number): void {
  stopping = true;
  removeDevRun(dataDir, process.pid);
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  setTimeout(() => process.exit(code), 500).unref();
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
// A fresh .dev.vars holds only the password, so whether a toolkit is configured is known before writing it.
let target = devWorkerTarget(toml, readDevVars(varsFile), process.env, settings.toolkitPort, settings.toolkit);
await checkPorts(settings, target.localToolkit !== undefined);
target = devWorkerTarget(toml, ensureVarsFile(), process.env, settings.toolkitPort, settings.toolkit);

const wranglerArgs = [
  path.join(root, "node_modules/wrangler/bin/wrangler.js"),
  "dev",
  "--ip",
  DEV_HOST,
  "--port",
  String(workerPort),
  "--env-file",
  varsFile,
  "--persist-to",
  path.join(dataDir, "wrangler"),
];
for (const [name, value] of Object.entries(target.cliVars)) wranglerArgs.push("--var", `${name}:${value}`);

/** Starts the local stand-in of `api`; returns it, the URL that answers once it is up, and what to print. */
function startLocalToolkit(api: "bridge" | "ui", port: number, url: string) {
  if (api === "bridge") {
    const child = start("the local toolkit", [path.join(root, "tunnel/toolkit/server.ts")], {
      ...process.env,
      TOOLKIT_HOST: DEV_HOST,
      TOOLKIT_PORT: String(port),
      TOOLKIT_DATA_DIR: path.join(dataDir, "toolkit"),
    });
    const note = `using the local toolkit at ${url} (simulated trainer unless AI_TOOLKIT_PATH is set).`;
    return { child, ready: `${url}/health`, note };
  }
  // The Worker reads the token from .dev.vars (wrangler's --env-file); the stand-in gets the same one.
  const { token, created } = ensureUiToken(varsFile);
  const child = start(
    "the local UI stand-in",
    ["--disable-warning=ExperimentalWarning", path.join(root, "tunnel/ui-toolkit/server.ts")],
    {
      ...process.env,
      UI_TOOLKIT_HOST: DEV_HOST,
      UI_TOOLKIT_PORT: String(port),
      UI_TOOLKIT_DATA_DIR: path.join(dataDir, "ui-toolkit"),
      AI_TOOLKIT_AUTH: token,
    },
  );
  const note =
    `using the local stand-in of ai-toolkit's UI at ${url} (AI_TOOLKIT_API=ui), token AI_TOOLKIT_AUTH=` +
    `${redacted(token)} ${created ? "generated and " : ""}kept in ${path.relative(root, varsFile)}.`;
  return { child, ready: `${url}/`, note };
}

if (target.localToolkit) {
  const { url, port, api } = target.localToolkit;
  const { child: toolkit, ready, note } = startLocalToolkit(api, port, url);
  children.push(toolkit);
  try {
    await waitForToolkit(ready, toolkit);
  } catch (error) {
    console.error(`npm run dev: ${error instanceof Error ? error.message : String(error)}; stopping.`);
    stopAll(1);
    await new Promise(() => {});
  }
  console.log(`  No toolkit configured: ${note}`);
}

const workerUrl = `http://${DEV_HOST}:${workerPort}`;
writeDevRun(dataDir, {
  pid: process.pid,
  workerUrl,
  toolkitUrl: target.localToolkit?.url ?? null,
  upstream: target.localToolkit?.api ?? null,
  cliVars: target.cliVars,
});
console.log(`  MCP endpoint: ${workerUrl}/mcp\n`);
children.push(start("wrangler dev", wranglerArgs));
