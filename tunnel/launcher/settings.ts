// What the launcher needs to know, from tunnel/.env and the process environment.

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EnvFileError, readEnvFile } from "./env-file.ts";
import { LauncherError } from "./errors.ts";

/**
 * Every key the launcher reads from the env file. tunnel/.env.example documents each one (a test
 * keeps the two in step). TUNNEL_ENV_FILE is not listed: it says where the env file is, so it
 * can only come from the process environment.
 */
export const LAUNCHER_KEYS = ["TUNNEL_TOKEN", "TOOLKIT_HOST", "TOOLKIT_PORT", "CLOUDFLARED_BIN"] as const;
export type LauncherKey = (typeof LAUNCHER_KEYS)[number];

/** Same defaults as the Worker's AI_TOOLKIT_HOST / AI_TOOLKIT_PORT in wrangler.toml. */
export const DEFAULT_TOOLKIT_HOST = "192.168.0.152";
export const DEFAULT_TOOLKIT_PORT = 8012;

/** tunnel/.env, found from this file rather than the working directory, so any cwd works. */
export const DEFAULT_ENV_FILE = fileURLToPath(new URL("../.env", import.meta.url));

export const TOKEN_SOURCE =
  "the Cloudflare dashboard (Zero Trust > Networks > Tunnels > your tunnel: the value after --token " +
  "in the connector install command) or from `cloudflared tunnel token <TUNNEL_NAME>`";

export interface LauncherSettings {
  readonly token: string;
  readonly toolkitHost: string;
  readonly toolkitPort: number;
  /** An explicit cloudflared binary; undefined means "use the cloudflared npm package's". */
  readonly cloudflaredBin: string | undefined;
  readonly envFile: string;
  readonly envFileFound: boolean;
}

/**
 * File values overlaid by the process environment. An empty process value does not mask the
 * file: compose and systemd happily export `KEY=` for keys nobody filled in.
 */
export function mergeEnv(
  fileValues: Readonly<Record<string, string>>,
  processEnv: NodeJS.ProcessEnv,
): Record<LauncherKey, string | undefined> {
  const merged = {} as Record<LauncherKey, string | undefined>;
  for (const key of LAUNCHER_KEYS) {
    const fromProcess = processEnv[key]?.trim();
    const fromFile = fileValues[key]?.trim();
    merged[key] = fromProcess ? fromProcess : fromFile ? fromFile : undefined;
  }
  return merged;
}

/** Loads and validates the settings; throws LauncherError (exit code 2) on a bad configuration. */
export function loadSettings(
  processEnv: NodeJS.ProcessEnv,
  cwd: string = process.cwd(),
  defaultEnvFile: string = DEFAULT_ENV_FILE,
): LauncherSettings {
  const explicitFile = processEnv.TUNNEL_ENV_FILE?.trim();
  const envFile = explicitFile ? path.resolve(cwd, explicitFile) : defaultEnvFile;
  if (explicitFile && !existsSync(envFile)) {
    throw new LauncherError(
      2,
      `TUNNEL_ENV_FILE points at ${envFile}, which does not exist: fix the path, or unset TUNNEL_ENV_FILE ` +
        `to use tunnel/.env`,
    );
  }

  let fileValues: Record<string, string> | undefined;
  try {
    fileValues = readEnvFile(envFile);
  } catch (error) {
    if (error instanceof EnvFileError) throw new LauncherError(2, error.message);
    throw error;
  }
  const values = mergeEnv(fileValues ?? {}, processEnv);

  return {
    token: checkToken(values.TUNNEL_TOKEN, envFile, fileValues !== undefined),
    toolkitHost: values.TOOLKIT_HOST ?? DEFAULT_TOOLKIT_HOST,
    toolkitPort: checkPort(values.TOOLKIT_PORT),
    cloudflaredBin: values.CLOUDFLARED_BIN,
    envFile,
    envFileFound: fileValues !== undefined,
  };
}

function checkToken(token: string | undefined, envFile: string, found: boolean): string {
  if (!token) {
    const read = found ? `read ${envFile}, which has no TUNNEL_TOKEN value` : `${envFile} does not exist`;
    throw new LauncherError(
      2,
      `TUNNEL_TOKEN is not set: copy tunnel/.env.example to tunnel/.env and paste the token from ` +
        `${TOKEN_SOURCE} (${read})`,
    );
  }
  if (/\s/.test(token)) {
    // The dashboard shows a whole command; pasting all of it is the usual mistake.
    throw new LauncherError(
      2,
      "TUNNEL_TOKEN contains spaces: paste only the token itself (the long string after --token, usually " +
        "starting with eyJ), not the whole command",
    );
  }
  return token;
}

function checkPort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_TOOLKIT_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port < 1 || port > 65535) {
    throw new LauncherError(
      2,
      `TOOLKIT_PORT is ${JSON.stringify(raw)}, not a port number: set it to the toolkit's port (8012 by default)`,
    );
  }
  return port;
}
