// The launcher as people run it: a real Node process (node launcher/main.ts) with an env file,
// driving the fake cloudflared through CLOUDFLARED_BIN.

import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { closedPort, createFakeCloudflared, waitFor, type FakeCloudflared } from "./fake-cloudflared.ts";

const MAIN = fileURLToPath(new URL("../../../tunnel/launcher/main.ts", import.meta.url));

interface Launched {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

let fake: FakeCloudflared;
let envFile: string;
let launched: Launched | undefined;

beforeEach(() => {
  fake = createFakeCloudflared();
  envFile = path.join(fake.dir, "tunnel.env");
});
afterEach(async () => {
  if (launched && launched.child.exitCode === null && launched.child.signalCode === null) {
    launched.child.kill("SIGKILL");
    await launched.exited;
  }
  launched = undefined;
  fake.cleanup();
});

/** Starts the launcher with a clean environment: nothing from this test process leaks in. */
function launch(extraEnv: NodeJS.ProcessEnv = {}): Launched {
  // process.execPath: the Node that runs these tests, new enough to strip types.
  const child = spawn(process.execPath, [MAIN], {
    cwd: fake.dir,
    env: {
      PATH: process.env.PATH,
      TUNNEL_ENV_FILE: envFile,
      CLOUDFLARED_BIN: fake.bin,
      ...fake.env("hang"),
      ...extraEnv,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  launched = { child, exited, stderr: () => stderr };
  return launched;
}

describe("the launcher process", () => {
  it("runs cloudflared with the token in its environment and stops cleanly on SIGTERM", async () => {
    writeFileSync(
      envFile,
      `# test\nTUNNEL_TOKEN=eyJfromfile\nTOOLKIT_HOST=127.0.0.1\nTOOLKIT_PORT=${await closedPort()}\n`,
    );
    const { child, exited, stderr } = launch();
    await waitFor("cloudflared to start", () => fake.starts().length === 1);

    const [started] = fake.starts();
    expect(started?.argv).toEqual(["tunnel", "--no-autoupdate", "run"]);
    expect(started?.token).toBe("eyJfromfile");
    expect(started?.argv?.join(" ")).not.toContain("eyJfromfile");

    child.kill("SIGTERM");
    expect(await exited).toEqual({ code: 0, signal: null });
    const signals = fake.records().filter((record) => record.event === "signal");
    expect(signals.map((record) => record.signal)).toEqual(["SIGTERM"]);
    // The fake is gone, not orphaned.
    expect(() => process.kill(started?.pid ?? 0, 0)).toThrow();
    expect(stderr()).toContain("SIGTERM received: stopping cloudflared");
  });

  it("lets the process environment override the env file", async () => {
    writeFileSync(envFile, `TUNNEL_TOKEN=eyJfromfile\nTOOLKIT_HOST=127.0.0.1\nTOOLKIT_PORT=${await closedPort()}\n`);
    const { child, exited } = launch({ TUNNEL_TOKEN: "eyJfromprocess" });
    await waitFor("cloudflared to start", () => fake.starts().length === 1);
    expect(fake.starts()[0]?.token).toBe("eyJfromprocess");
    child.kill("SIGINT");
    expect((await exited).code).toBe(0);
  });

  it("warns, without stopping, when nothing answers at the toolkit address", async () => {
    writeFileSync(envFile, `TUNNEL_TOKEN=eyJx\nTOOLKIT_HOST=127.0.0.1\nTOOLKIT_PORT=${await closedPort()}\n`);
    const { child, exited, stderr } = launch();
    await waitFor("the probe warning", () => stderr().includes("did not answer /health"));
    expect(stderr()).toContain("ECONNREFUSED");
    expect(child.exitCode).toBeNull();
    child.kill("SIGTERM");
    expect((await exited).code).toBe(0);
  });

  it("exits with code 2 and says what to do when the token is missing", async () => {
    writeFileSync(envFile, "TUNNEL_TOKEN=\nTOOLKIT_HOST=127.0.0.1\n");
    const { exited, stderr } = launch();
    expect(await exited).toEqual({ code: 2, signal: null });
    expect(stderr()).toContain(
      "TUNNEL_TOKEN is not set: copy tunnel/.env.example to tunnel/.env and paste the token from",
    );
    expect(fake.starts()).toHaveLength(0);
  });
});
