import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { devRunFile, readDevVars } from "../../../scripts/local-settings.ts";
import { freePort, stopProcess } from "../../e2e/harness";
import { obtainAccessToken } from "../../shared/oauth-flow";

const root = path.resolve(import.meta.dirname, "../../..");
const run = promisify(execFile);

/** The environment of a fresh checkout: no toolkit configured, no DEV_* settings, files in `scratch`. */
function freshEnv(scratch: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEV_DATA_DIR: scratch,
    DEV_VARS_FILE: path.join(scratch, ".dev.vars"),
  };
  for (const key of Object.keys(env))
    if (/^(AI_TOOLKIT_|CF_ACCESS_)/.test(key) || /^DEV_(PORT|TOOLKIT|TOOLKIT_PORT)$/.test(key)) delete env[key];
  return env;
}

/** `npm run dev` with these flags, until it exits (only for runs that must exit by themselves). */
async function devExits(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [path.join(root, "scripts/dev.ts"), ...args], {
      cwd: root,
      env,
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** `npm run doctor`, with the environment dev ran with. */
async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  const tsx = path.join(root, "node_modules/tsx/dist/cli.mjs");
  try {
    const { stdout } = await run(process.execPath, [tsx, "scripts/doctor.ts"], { cwd: root, env });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
}

/** `npm run dev` on a fresh checkout: a password is made and printed, the local toolkit starts, the Worker uses it. */
describe("npm run dev", () => {
  let scratch = "";
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it(
    "writes .dev.vars with a generated password, starts the local toolkit on --toolkit-port, serves /mcp on " +
      "--port; doctor finds it",
    async () => {
      scratch = await mkdtemp(path.join(tmpdir(), "dev-script-"));
      const [port, toolkitPort] = [await freePort(), await freePort()];
      const varsFile = path.join(scratch, ".dev.vars");
      const env = freshEnv(scratch);
      const args = [path.join(root, "scripts/dev.ts"), "--port", String(port), `--toolkit-port=${toolkitPort}`];
      const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
      try {
        let health: { toolkit?: { reachable?: boolean } } = {};
        for (let i = 0; i < 240 && !health.toolkit?.reachable; i++) {
          await new Promise((r) => setTimeout(r, 250));
          health = await fetch(`http://127.0.0.1:${port}/health`).then(
            (r) => r.json() as Promise<typeof health>,
            () => ({}),
          );
        }
        expect(health.toolkit?.reachable, output).toBe(true);

        const password = /Owner password \(shown once, kept in [^)]+\): (\S+)/.exec(output)?.[1];
        expect(password).toBeTruthy();
        expect(await readFile(varsFile, "utf8")).toContain(`OWNER_PASSWORD=${password}`);
        // The printed password is the one the Worker checks.
        const token = await obtainAccessToken(`http://127.0.0.1:${port}`, password ?? "");
        expect(token).toMatch(/\S{20,}/);
        expect(output).toContain(`using the local toolkit at http://127.0.0.1:${toolkitPort}`);
        expect(output).toContain(`MCP endpoint: http://127.0.0.1:${port}/mcp`);

        // `npm run doctor` right after, with the same environment: it checks the toolkit dev
        // started (on a port only the flag named), not wrangler.toml's LAN address.
        const checked = await doctor(env);
        expect(checked.stdout).toContain(
          `ok   npm run dev (pid ${child.pid}) runs with the local toolkit at http://127.0.0.1:${toolkitPort}`,
        );
        expect(checked.stdout).not.toContain("192.168.0.152");
        expect(checked.code, checked.stdout).toBe(0);
      } finally {
        await stopProcess(child);
      }
      // Both children are gone with it, and so is its record.
      await expect(fetch(`http://127.0.0.1:${toolkitPort}/health`)).rejects.toThrow();
      expect(existsSync(devRunFile(scratch))).toBe(false);
    },
  );
});

describe("npm run dev --toolkit ui", () => {
  let scratch = "";
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("starts the UI stand-in with a generated token kept in .dev.vars (never printed), and the Worker speaks to it", async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "dev-script-ui-"));
    const [port, toolkitPort] = [await freePort(), await freePort()];
    const env = { ...freshEnv(scratch), DEV_TOOLKIT: "bridge" };
    const args = [path.join(root, "scripts/dev.ts"), "--port", String(port), "--toolkit", "ui"];
    const child = spawn(process.execPath, [...args, "--toolkit-port", String(toolkitPort)], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      let health: { toolkit?: { reachable?: boolean; api?: string; answering?: string; authenticated?: boolean } } = {};
      for (let i = 0; i < 240 && !health.toolkit?.reachable; i++) {
        await new Promise((r) => setTimeout(r, 250));
        health = await fetch(`http://127.0.0.1:${port}/health`).then(
          (r) => r.json() as Promise<typeof health>,
          () => ({}),
        );
      }
      expect(health.toolkit, output).toMatchObject({
        reachable: true,
        api: "ui",
        answering: "ui",
        authenticated: true,
      });

      const token = readDevVars(path.join(scratch, ".dev.vars")).AI_TOOLKIT_AUTH ?? "";
      expect(token).toMatch(/^[\w-]{32}$/);
      expect(output).toContain(`using the local stand-in of ai-toolkit's UI at http://127.0.0.1:${toolkitPort}`);
      expect(output).toContain(`AI_TOOLKIT_AUTH=${token.slice(0, 4)}… generated and kept in`);
      expect(output).not.toContain(token);
      // The stand-in takes only that token.
      const auth = (bearer: string) =>
        fetch(`http://127.0.0.1:${toolkitPort}/api/auth`, { headers: { Authorization: `Bearer ${bearer}` } });
      expect((await auth(token)).status).toBe(200);
      expect((await auth("wrong")).status).toBe(401);

      const run = JSON.parse(await readFile(devRunFile(scratch), "utf8")) as { upstream?: string };
      expect(run.upstream).toBe("ui");
      const checked = await doctor(env);
      expect(checked.stdout).toContain(
        `ok   npm run dev (pid ${child.pid}) runs with the local stand-in of ai-toolkit's UI at ` +
          `http://127.0.0.1:${toolkitPort}`,
      );
      expect(checked.stdout).toMatch(/ok {3}toolkit: ai-toolkit's UI answered/);
      expect(checked.stdout).not.toContain(token);
      expect(checked.code, checked.stdout).toBe(0);
    } finally {
      await stopProcess(child);
    }
    await expect(fetch(`http://127.0.0.1:${toolkitPort}/`)).rejects.toThrow();
  });
});

describe("npm run dev's command line and ports", () => {
  let scratch = "";
  let holder: Server;
  let taken = 0;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "dev-ports-"));
    // Something else already listens here.
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    taken = (holder.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  it("prints its usage with every flag for --help, and exits 0", async () => {
    const result = await devExits(["--help"], freshEnv(scratch));
    expect(result.code).toBe(0);
    for (const flag of [
      "--port <port>",
      "--toolkit <bridge|ui>",
      "--toolkit-port <port>",
      "-h, --help",
      "DEV_PORT",
      "DEV_TOOLKIT,",
      "DEV_TOOLKIT_PORT",
    ])
      expect(result.stdout).toContain(flag);
  });

  it("refuses unknown flags, stray arguments and bad ports with the usage", async () => {
    for (const args of [
      ["--prot", "9000"],
      ["9000"],
      ["--port"],
      ["--port", "http"],
      ["--toolkit-port", "70000"],
      ["--toolkit", "comfy"],
    ]) {
      const result = await devExits(args, freshEnv(scratch));
      expect(result.code, args.join(" ")).toBe(64);
      expect(result.stderr).toContain("Usage: npm run dev");
    }
  });

  it(
    "says plainly that the local toolkit's port is taken, " + "and how to choose another, before starting anything",
    async () => {
      const result = await devExits(
        ["--port", String(await freePort()), "--toolkit-port", String(taken)],
        freshEnv(scratch),
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${taken} (the local toolkit's port) is already taken on 127.0.0.1`);
      expect(result.stderr).toMatch(
        /choose another port: npm run dev -- --toolkit-port \d+ {3}\(or DEV_TOOLKIT_PORT=\d+ npm run dev\)/,
      );
      expect(result.stdout).not.toContain("MCP endpoint");
      expect(existsSync(path.join(scratch, ".dev.vars"))).toBe(false);
    },
  );

  it("says plainly that the Worker's port is taken (given with --port or DEV_PORT)", async () => {
    for (const [args, extra] of [
      [["--port", String(taken)], {}],
      [[], { DEV_PORT: String(taken) }],
    ] as const) {
      const result = await devExits([...args, "--toolkit-port", String(await freePort())], {
        ...freshEnv(scratch),
        ...extra,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`port ${taken} (the Worker's port) is already taken on 127.0.0.1`);
      expect(result.stderr).toMatch(
        /choose another port: npm run dev -- --port \d+ {3}\(or DEV_PORT=\d+ npm run dev\)/,
      );
      expect(result.stdout).not.toContain("MCP endpoint");
    }
  });
});
