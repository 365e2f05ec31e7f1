// Keeps one child process running: restarts it with back-off when it exits, stops it on request.

import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { Backoff, DEFAULT_BACKOFF, type BackoffTimings } from "./backoff.ts";

export type SupervisorEvent =
  | { readonly type: "start"; readonly pid: number | undefined; readonly attempt: number }
  | {
      readonly type: "exit";
      readonly code: number | null;
      readonly signal: NodeJS.Signals | null;
      readonly uptimeMs: number;
      /** Set when the process could not be started at all (for example ENOENT, EACCES). */
      readonly error?: Error;
    }
  | { readonly type: "restart-scheduled"; readonly delayMs: number }
  | { readonly type: "stop-requested"; readonly signal: NodeJS.Signals }
  | { readonly type: "kill-escalated"; readonly afterMs: number }
  | { readonly type: "stopped" };

export interface SupervisorOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly backoff?: BackoffTimings;
  /**
   * After a stop request, how long the child may take before it is killed outright.
   * cloudflared drains in-flight requests for its --grace-period (30 s by default) on the
   * first SIGTERM, so the default leaves room for that.
   */
  readonly killAfterMs?: number;
  /** The child's stdio; cloudflared's own log goes straight to ours by default. */
  readonly stdio?: StdioOptions;
  readonly onEvent?: (event: SupervisorEvent) => void;
}

export interface Supervisor {
  /** Resolves once stop() was called and no child is left running. */
  readonly done: Promise<void>;
  /**
   * Forwards `signal` to the child and stops restarting it. Calling it again forwards the
   * signal again: a second SIGTERM makes cloudflared skip its grace period.
   */
  stop(signal?: NodeJS.Signals): void;
}

export const DEFAULT_KILL_AFTER_MS = 45_000;

export function supervise(options: SupervisorOptions): Supervisor {
  const backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF);
  const killAfterMs = options.killAfterMs ?? DEFAULT_KILL_AFTER_MS;
  const emit = options.onEvent ?? (() => {});

  let child: ChildProcess | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  let attempt = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const finish = (): void => {
    clearTimeout(killTimer);
    emit({ type: "stopped" });
    resolveDone();
  };

  const start = (): void => {
    restartTimer = undefined;
    attempt += 1;
    const startedAt = Date.now();
    const current = spawn(options.command, options.args, {
      env: options.env,
      stdio: options.stdio ?? "inherit",
    });
    child = current;
    emit({ type: "start", pid: current.pid, attempt });

    // A failed spawn emits "error" and possibly never "exit"; a running child emits only "exit".
    // Whichever comes first ends this attempt.
    let ended = false;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (ended) return;
      ended = true;
      child = undefined;
      const uptimeMs = Date.now() - startedAt;
      emit(error ? { type: "exit", code, signal, uptimeMs, error } : { type: "exit", code, signal, uptimeMs });
      if (stopping) {
        finish();
        return;
      }
      const delayMs = backoff.next(uptimeMs);
      emit({ type: "restart-scheduled", delayMs });
      restartTimer = setTimeout(start, delayMs);
    };
    current.once("exit", (code, signal) => onEnd(code, signal));
    current.once("error", (error) => onEnd(null, null, error));
  };

  const stop = (signal: NodeJS.Signals = "SIGTERM"): void => {
    emit({ type: "stop-requested", signal });
    const firstRequest = !stopping;
    stopping = true;
    if (restartTimer !== undefined) {
      // Waiting out a back-off: there is no child to stop.
      clearTimeout(restartTimer);
      restartTimer = undefined;
      finish();
      return;
    }
    if (!child) return; // Already stopped.
    child.kill(signal);
    if (firstRequest) {
      killTimer = setTimeout(() => {
        emit({ type: "kill-escalated", afterMs: killAfterMs });
        child?.kill("SIGKILL");
      }, killAfterMs);
    }
  };

  start();
  return { done, stop };
}
