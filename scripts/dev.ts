// `npm run dev`: the Worker on http://127.0.0.1:8787 and, unless a toolkit is configured,
// the local toolkit next to it. On the first run it writes .dev.vars with a generated owner
// password and prints that password once.
//
// Settings (environment): DEV_PORT (8787), DEV_TOOLKIT_PORT (8012), DEV_DATA_DIR (.dev-data),
// DEV_VARS_FILE (.dev.vars). A toolkit counts as configured when wrangler.toml has a TOOLKIT
// VPC binding, or AI_TOOLKIT_URL or AI_TOOLKIT_HOST is set in the vars file or the environment.

import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hasVpcBinding, readDevVars } from "./local-settings.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const varsFile = path.resolve(root, process.env.DEV_VARS_FILE ?? ".dev.vars");
const workerPort = process.env.DEV_PORT ?? "8787";
const toolkitPort = process.env.DEV_TOOLKIT_PORT ?? "8012";
const dataDir = path.resolve(root, process.env.DEV_DATA_DIR ?? ".dev-data");

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

async function waitForToolkit(url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the local toolkit did not answer on ${url} within 10 s`);
}

const children: ChildProcess[] = [];
let stopping = false;

function stopAll(code: number): void {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill("SIGTERM");
  setTimeout(() => process.exit(code), 500).unref();
}

process.on("SIGINT", () => stopAll(0));
process.on("SIGTERM", () => stopAll(0));

const vars = ensureVarsFile();
const configured =
  hasVpcBinding(readFileSync(path.join(root, "wrangler.toml"), "utf8")) ||
  Boolean(vars.AI_TOOLKIT_URL || vars.AI_TOOLKIT_HOST || process.env.AI_TOOLKIT_URL || process.env.AI_TOOLKIT_HOST);
const wranglerArgs = [
  path.join(root, "node_modules/wrangler/bin/wrangler.js"),
  "dev",
  "--ip", "127.0.0.1",
  "--port", workerPort,
  "--env-file", varsFile,
  "--persist-to", path.join(dataDir, "wrangler"),
];

if (!configured) {
  const toolkitUrl = `http://127.0.0.1:${toolkitPort}`;
  children.push(
    start("the local toolkit", [path.join(root, "tunnel/toolkit/server.ts")], {
      ...process.env,
      TOOLKIT_HOST: "127.0.0.1",
      TOOLKIT_PORT: toolkitPort,
      TOOLKIT_DATA_DIR: path.join(dataDir, "toolkit"),
    }),
  );
  await waitForToolkit(toolkitUrl);
  console.log(`  No toolkit configured: using the local toolkit at ${toolkitUrl} (simulated trainer unless AI_TOOLKIT_PATH is set).`);
  wranglerArgs.push("--var", "AI_TOOLKIT_HOST:127.0.0.1", "--var", `AI_TOOLKIT_PORT:${toolkitPort}`);
}

console.log(`  MCP endpoint: http://127.0.0.1:${workerPort}/mcp\n`);
children.push(start("wrangler dev", wranglerArgs));
