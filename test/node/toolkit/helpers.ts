// Shared set-up for the local toolkit's tests: a server on a free port over a fresh data folder.

import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { startToolkitServer, type ToolkitServer, type ToolkitServerOptions } from "../../../tunnel/toolkit/server.ts";

export interface Envelope {
  success: boolean;
  result: Record<string, unknown> | null;
  error: string | null;
}

export interface Harness {
  server: ToolkitServer;
  /** Parent of the data folder: anything written here outside data/ is an escape. */
  sandbox: string;
  dataDir: string;
  call(tool: string, args?: Record<string, unknown>): Promise<Envelope>;
  /** The result of a call that must have run (success: true). */
  result(tool: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startHarness(
  options: Partial<ToolkitServerOptions> = {},
  existingSandbox?: string,
): Promise<Harness> {
  const sandbox = existingSandbox ?? (await mkdtemp(path.join(tmpdir(), "toolkit-test-")));
  const dataDir = path.join(sandbox, "data");
  const server = await startToolkitServer({ port: 0, dataDir, simulatedStepMs: 5, ...options });
  const call = async (tool: string, args: Record<string, unknown> = {}): Promise<Envelope> => {
    const response = await fetch(`${server.url}/mcp/execute`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tool, arguments: args }),
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    return (await response.json()) as Envelope;
  };
  return {
    server,
    sandbox,
    dataDir,
    call,
    async result(tool, args) {
      const envelope = await call(tool, args);
      if (!envelope.success || envelope.result === null) throw new Error(`${tool} raised: ${envelope.error}`);
      return envelope.result;
    },
    close: () => server.close(),
  };
}

export async function removeSandbox(sandbox: string): Promise<void> {
  await rm(sandbox, { recursive: true, force: true });
}

/** Every file below `dir`, as paths relative to it. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until a job is no longer running and returns its final status result. */
export async function waitForJobEnd(h: Harness, jobId: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return waitFor(
    async () => {
      const status = await h.result("get_training_status", { job_id: jobId });
      return status.status === "running" ? undefined : status;
    },
    timeoutMs,
    `job ${jobId} to end`,
  );
}

export const PNG_1X1 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
