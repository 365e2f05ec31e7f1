// Reading the Worker's settings from a terminal, the way wrangler does: wrangler.toml [vars],
// then .dev.vars (KEY=value lines), and what `npm run dev` adds on top. Shared by
// `npm run dev` and `npm run doctor`; plain erasable TypeScript so Node runs it without a
// build step.

import { randomBytes } from "node:crypto";
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { DEFAULT_PORTS } from "../src/config.ts";

/** The [vars] table of wrangler.toml (flat string values only, which is all it holds). */
export function wranglerVars(toml: string): Record<string, string> {
  const vars: Record<string, string> = {};
  let inVars = false;
  for (const line of toml.split(/\r?\n/)) {
    const table = /^\s*\[+([^\]]+)\]+\s*$/.exec(line);
    if (table) inVars = table[1]?.trim() === "vars";
    const entry = inVars ? /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/.exec(line) : null;
    if (entry?.[1]) vars[entry[1]] = entry[2] ?? "";
  }
  return vars;
}

/** True when wrangler.toml has an uncommented Workers VPC binding named TOOLKIT. */
export function hasVpcBinding(toml: string): boolean {
  const block = toml.search(/^\s*\[\[vpc_services\]\]/m);
  return block >= 0 && /^\s*binding\s*=\s*"TOOLKIT"/m.test(toml.slice(block));
}

/** A .dev.vars file as a map; a missing file is empty. Empty values count as unset. */
export function readDevVars(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    const value = match?.[2]?.replace(/^(["'])(.*)\1$/, "$2");
    if (match?.[1] && value) vars[match[1]] = value;
  }
  return vars;
}

// What `npm run dev` runs and where `npm run doctor` finds it. Both scripts take their settings
// from the functions below, so the doctor checks the toolkit that dev points the Worker at.

/** A bad command line or setting: the message says which, and the script prints its usage. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The loopback address `npm run dev` serves the Worker and the local toolkit on. */
export const DEV_HOST = "127.0.0.1";

/** Which local stand-in `npm run dev` starts: the bridge's (tunnel/toolkit) or ai-toolkit's UI's (tunnel/ui-toolkit). */
export type DevToolkit = keyof typeof DEFAULT_PORTS;

export interface DevSettings {
  workerPort: number;
  /** Which local stand-in to start when no toolkit is configured (DEV_TOOLKIT, --toolkit). */
  toolkit: DevToolkit;
  /** The local toolkit's port (used only when no toolkit is configured); default: the upstream's own. */
  toolkitPort: number;
  /** Absolute: where the local toolkit and wrangler's local storage keep their files. */
  dataDir: string;
  /** Absolute: the .dev.vars file `npm run dev` writes and wrangler dev reads. */
  varsFile: string;
}

export function parsePort(raw: string, what: string): number {
  const port = /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    throw new UsageError(`${what} must be a port number from 1 to 65535, got ${JSON.stringify(raw)}`);
  return port;
}

export function parseToolkit(raw: string, what: string): DevToolkit {
  const value = raw.trim().toLowerCase();
  if (value === "bridge" || value === "ui") return value;
  throw new UsageError(
    `${what} must be "bridge" (the original bridge's stand-in) or "ui" (ai-toolkit's UI's), got ${JSON.stringify(raw)}`,
  );
}

/**
 * `npm run dev`'s settings: the DEV_* environment variables, command-line flags over them,
 * defaults for the rest. Relative paths are taken from the project root.
 */
export function devSettings(
  root: string,
  env: Record<string, string | undefined>,
  flags: { port?: string | undefined; toolkitPort?: string | undefined; toolkit?: string | undefined } = {},
): DevSettings {
  const port = (flag: string | undefined, name: string, variable: string, fallback: number): number => {
    if (flag !== undefined) return parsePort(flag, name);
    const fromEnv = env[variable]?.trim();
    return fromEnv ? parsePort(fromEnv, variable) : fallback;
  };
  const toolkit =
    flags.toolkit !== undefined
      ? parseToolkit(flags.toolkit, "--toolkit")
      : env.DEV_TOOLKIT?.trim()
        ? parseToolkit(env.DEV_TOOLKIT, "DEV_TOOLKIT")
        : "bridge";
  return {
    workerPort: port(flags.port, "--port", "DEV_PORT", 8787),
    toolkit,
    toolkitPort: port(flags.toolkitPort, "--toolkit-port", "DEV_TOOLKIT_PORT", DEFAULT_PORTS[toolkit]),
    dataDir: resolve(root, env.DEV_DATA_DIR || ".dev-data"),
    varsFile: resolve(root, env.DEV_VARS_FILE || ".dev.vars"),
  };
}

/** The settings that decide where the Worker sends toolkit calls (besides a VPC binding). */
const TARGET_KEYS = ["AI_TOOLKIT_URL", "AI_TOOLKIT_HOST", "AI_TOOLKIT_PORT"] as const;

export interface DevWorkerTarget {
  /** The Worker has a toolkit of its own (a VPC binding, AI_TOOLKIT_URL or AI_TOOLKIT_HOST): no local toolkit. */
  configured: boolean;
  /** The local toolkit `npm run dev` starts, when no toolkit is configured, and which upstream it stands for. */
  localToolkit?: { host: string; port: number; url: string; api: DevToolkit };
  /**
   * What `npm run dev` passes to wrangler dev as `--var NAME:value`; these win over wrangler.toml
   * and .dev.vars. wrangler dev does not read the environment, so toolkit settings given there
   * travel this way too.
   */
  cliVars: Record<string, string>;
}

/**
 * Where `npm run dev` points the Worker. A toolkit is configured when wrangler.toml has a
 * TOOLKIT VPC binding, or AI_TOOLKIT_URL or AI_TOOLKIT_HOST is set in .dev.vars or the
 * environment; otherwise the Worker gets the local stand-in of `api` on 127.0.0.1:<toolkit
 * port>, and AI_TOOLKIT_API to speak to it (its token, for the UI, travels in .dev.vars: see
 * ensureUiToken). wrangler.toml's own [vars] address (the LAN default) never counts: locally,
 * dev never uses it.
 */
export function devWorkerTarget(
  toml: string,
  devVars: Record<string, string>,
  env: Record<string, string | undefined>,
  toolkitPort: number,
  api: DevToolkit = "bridge",
): DevWorkerTarget {
  const fromEnv: Record<string, string> = {};
  for (const key of TARGET_KEYS) {
    const value = env[key]?.trim();
    if (value) fromEnv[key] = value;
  }
  const configured =
    hasVpcBinding(toml) ||
    Boolean(devVars.AI_TOOLKIT_URL || devVars.AI_TOOLKIT_HOST || fromEnv.AI_TOOLKIT_URL || fromEnv.AI_TOOLKIT_HOST);
  if (configured) return { configured, cliVars: fromEnv };
  return {
    configured,
    localToolkit: { host: DEV_HOST, port: toolkitPort, url: `http://${DEV_HOST}:${toolkitPort}`, api },
    cliVars: { AI_TOOLKIT_API: api, AI_TOOLKIT_HOST: DEV_HOST, AI_TOOLKIT_PORT: String(toolkitPort) },
  };
}

/**
 * The token the local UI stand-in is started with and the Worker sends: AI_TOOLKIT_AUTH from
 * .dev.vars, or a new random one appended there (mode 0600, as dev writes it). A secret: it goes
 * in that file, never on a command line (`--var` shows in `ps`) and never printed in full.
 */
export function ensureUiToken(varsFile: string): { token: string; created: boolean } {
  const existing = readDevVars(varsFile).AI_TOOLKIT_AUTH;
  if (existing) return { token: existing, created: false };
  const token = randomBytes(24).toString("base64url");
  const text = existsSync(varsFile) ? readFileSync(varsFile, "utf8") : "";
  appendFileSync(
    varsFile,
    `${text === "" || text.endsWith("\n") ? "" : "\n"}# The local UI stand-in's token (npm run dev -- --toolkit ui).\n` +
      `AI_TOOLKIT_AUTH=${token}\n`,
    { mode: 0o600 },
  );
  return { token, created: true };
}

/** A secret as it may be shown: its first characters only. */
export const redacted = (secret: string): string => `${secret.slice(0, 4)}…`;

/**
 * The Worker's settings as `npm run dev` gives them, read from a terminal: wrangler.toml [vars],
 * then .dev.vars, then the environment (non-empty values only), then dev's `--var` overrides.
 */
export function devWorkerSettings(
  toml: string,
  devVars: Record<string, string>,
  env: Record<string, string | undefined>,
  cliVars: Record<string, string>,
): Record<string, string> {
  const fromEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value?.trim()) fromEnv[key] = value;
  return { ...wranglerVars(toml), ...devVars, ...fromEnv, ...cliVars };
}

/** What a running `npm run dev` records in its data folder, for `npm run doctor`. */
export interface DevRun {
  pid: number;
  workerUrl: string;
  /** The local toolkit it started, or null when the Worker uses a configured toolkit. */
  toolkitUrl: string | null;
  /** Which upstream that local toolkit stands for (null with a configured toolkit). */
  upstream: DevToolkit | null;
  /** Exactly the `--var` overrides it gave wrangler dev. */
  cliVars: Record<string, string>;
}

export const devRunFile = (dataDir: string): string => join(dataDir, "dev-run.json");

export function writeDevRun(dataDir: string, run: DevRun): void {
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(devRunFile(dataDir), `${JSON.stringify(run, null, 2)}\n`);
}

/** Removes the record, if it is this process's own. */
export function removeDevRun(dataDir: string, pid: number): void {
  if (readDevRunFile(dataDir)?.pid === pid) rmSync(devRunFile(dataDir), { force: true });
}

function readDevRunFile(dataDir: string): DevRun | undefined {
  try {
    const run = JSON.parse(readFileSync(devRunFile(dataDir), "utf8")) as DevRun;
    return Number.isInteger(run.pid) && typeof run.cliVars === "object" && run.cliVars !== null ? run : undefined;
  } catch {
    return undefined;
  }
}

/** The running `npm run dev` of this data folder, if any (a record left by one that died is ignored). */
export function readDevRun(dataDir: string): DevRun | undefined {
  const run = readDevRunFile(dataDir);
  if (!run) return undefined;
  try {
    process.kill(run.pid, 0);
    return run;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM" ? run : undefined;
  }
}
