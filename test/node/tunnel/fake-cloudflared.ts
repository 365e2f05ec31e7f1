// A stand-in for the cloudflared binary: records every start (argv, TUNNEL_TOKEN, time) and every
// signal it receives as JSON lines, and exits or stays up as a per-start plan says.

import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export interface FakeRecord {
  readonly event: "start" | "signal" | "exit";
  readonly t: number;
  readonly pid: number;
  readonly argv?: string[];
  readonly token?: string | null;
  readonly signal?: string;
}

export interface FakeCloudflared {
  readonly dir: string;
  readonly bin: string;
  readonly logFile: string;
  /** The environment that drives the fake: pass it on to whatever spawns it. */
  env(plan: string, options?: { ignoreTerm?: boolean }): NodeJS.ProcessEnv;
  records(): FakeRecord[];
  starts(): FakeRecord[];
  cleanup(): void;
}

// CommonJS on purpose: the temp folder has no package.json saying otherwise.
const SCRIPT = `
const fs = require("node:fs");
const log = process.env.FAKE_LOG;
const record = (entry) =>
  fs.appendFileSync(log, JSON.stringify({ ...entry, t: Date.now(), pid: process.pid }) + "\\n");
const earlier = fs.existsSync(log)
  ? fs.readFileSync(log, "utf8").split("\\n").filter(Boolean).map((line) => JSON.parse(line))
      .filter((entry) => entry.event === "start").length
  : 0;
// FAKE_PLAN: per start, "hang" (stay up until signalled) or milliseconds until exiting with code 3.
const plan = (process.env.FAKE_PLAN || "hang").split(",");
const step = plan[Math.min(earlier, plan.length - 1)];
const ignoreTerm = process.env.FAKE_IGNORE_TERM === "1";
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    record({ event: "signal", signal });
    if (!ignoreTerm) process.exit(0);
  });
}
record({ event: "start", argv: process.argv.slice(2), token: process.env.TUNNEL_TOKEN ?? null });
if (step === "hang") setInterval(() => {}, 1 << 30);
else setTimeout(() => { record({ event: "exit" }); process.exit(3); }, Number(step));
`;

export function createFakeCloudflared(): FakeCloudflared {
  const dir = mkdtempSync(path.join(tmpdir(), "fake-cloudflared-"));
  const bin = path.join(dir, "cloudflared");
  const logFile = path.join(dir, "calls.jsonl");
  writeFileSync(bin, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(bin, 0o755);

  const records = (): FakeRecord[] =>
    existsSync(logFile)
      ? readFileSync(logFile, "utf8")
          .split("\n")
          .filter(Boolean)
          .map((line) => JSON.parse(line) as FakeRecord)
      : [];

  return {
    dir,
    bin,
    logFile,
    env: (plan, options = {}) => ({
      FAKE_LOG: logFile,
      FAKE_PLAN: plan,
      ...(options.ignoreTerm ? { FAKE_IGNORE_TERM: "1" } : {}),
    }),
    records,
    starts: () => records().filter((record) => record.event === "start"),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Polls until `check` returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A 127.0.0.1 port on which nothing listens (taken from the OS, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port assigned");
  return address.port;
}
