// The launcher: settings, binary, a supervised cloudflared, a clean stop on SIGTERM/SIGINT.

import { locateCloudflared } from "./binary.ts";
import type { BackoffTimings } from "./backoff.ts";
import { cloudflaredInvocation } from "./command.ts";
import { LauncherError } from "./errors.ts";
import { probeToolkit, toolkitOrigin } from "./probe.ts";
import { loadSettings, type LauncherSettings } from "./settings.ts";
import { supervise, type SupervisorEvent } from "./supervisor.ts";

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly backoff?: BackoffTimings;
  readonly killAfterMs?: number;
  readonly log?: (message: string) => void;
  /** Loads the cloudflared npm package; replaced in tests. */
  readonly importPackage?: () => Promise<unknown>;
}

// A service manager signals only the launcher, which forwards once: cloudflared drains open
// requests first. Ctrl-C in a terminal also reaches cloudflared directly (same process group), so
// it sees the signal twice and stops at once, which is what pressing Ctrl-C asks for.
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGINT"];

const defaultLog = (message: string): void => {
  process.stderr.write(`[tunnel] ${message}\n`);
};

/** Runs until stopped by a signal; resolves to the process exit code. */
export async function runLauncher(options: RunOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  const log = options.log ?? defaultLog;

  let command: string;
  let settings: LauncherSettings;
  try {
    settings = loadSettings(env, options.cwd);
    command = await locateCloudflared({
      configured: settings.cloudflaredBin,
      log,
      ...(options.importPackage ? { importPackage: options.importPackage } : {}),
    });
  } catch (error) {
    if (error instanceof LauncherError) {
      log(error.message);
      return error.exitCode;
    }
    throw error;
  }

  const origin = toolkitOrigin(settings.toolkitHost, settings.toolkitPort);
  log(`starting ${command} (env file: ${settings.envFile}${settings.envFileFound ? "" : ", not found"})`);
  void probeToolkit(settings.toolkitHost, settings.toolkitPort).then((result) =>
    log(
      result.ok
        ? `the toolkit answers at ${origin} (${result.server === "ui" ? "ai-toolkit's web UI" : "the AI Toolkit MCP bridge"})`
        : `warning: the toolkit at ${origin} did not answer /health or /api/auth (${result.reason}). The tunnel starts anyway, ` +
            ("but the Worker gets HTTP 502 until the toolkit runs: start it, or fix TOOLKIT_HOST / " +
              "TOOLKIT_PORT in tunnel/.env"),
    ),
  );

  const { args, env: childEnv } = cloudflaredInvocation(settings.token, env);
  const supervisor = supervise({
    command,
    args,
    env: childEnv,
    ...(options.backoff ? { backoff: options.backoff } : {}),
    ...(options.killAfterMs !== undefined ? { killAfterMs: options.killAfterMs } : {}),
    onEvent: (event) => {
      const message = describe(event);
      if (message) log(message);
    },
  });

  const onSignal = (signal: NodeJS.Signals): void => supervisor.stop(signal);
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  try {
    await supervisor.done;
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
  }
  return 0;
}

function describe(event: SupervisorEvent): string | undefined {
  switch (event.type) {
    case "start":
      return event.attempt === 1
        ? `cloudflared started (pid ${event.pid ?? "?"})`
        : `cloudflared restarted (attempt ${event.attempt}, pid ${event.pid ?? "?"})`;
    case "exit": {
      if (event.error) return `could not run cloudflared: ${event.error.message}`;
      const how = event.signal ? `was killed by ${event.signal}` : `exited with code ${event.code}`;
      return `cloudflared ${how} after ${seconds(event.uptimeMs)}`;
    }
    case "restart-scheduled":
      return (
        `restarting in ${seconds(event.delayMs)} (if this repeats, read cloudflared's messages above: a ` +
        `revoked token or no network are the usual causes)`
      );
    case "stop-requested":
      return `${event.signal} received: stopping cloudflared`;
    case "kill-escalated":
      return `cloudflared did not stop within ${seconds(event.afterMs)}: killing it`;
    case "stopped":
      return "stopped";
  }
}

function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
