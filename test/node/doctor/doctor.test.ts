import { execFile, spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startToolkitServer } from "../../../tunnel/toolkit/server.ts";
import { startUiToolkitServer } from "../../../tunnel/ui-toolkit/server.ts";
import {
  devSettings,
  devWorkerTarget,
  ensureUiToken,
  hasVpcBinding,
  readDevVars,
  redacted,
  readDevRun,
  removeDevRun,
  wranglerVars,
  writeDevRun,
} from "../../../scripts/local-settings.ts";
import { freePort } from "../../e2e/harness";

const root = path.resolve(import.meta.dirname, "../../..");
const run = promisify(execFile);

let home = "";
beforeAll(async () => {
  home = await mkdtemp(path.join(tmpdir(), "doctor-home-"));
});
afterAll(() => rm(home, { recursive: true, force: true }));

/** A dev data folder and .dev.vars of the test's own (never the developer's). */
const devVarsFile = () => path.join(home, ".dev.vars");
const devDataDir = () => path.join(home, "dev-data");

async function doctor(env: Record<string, string>, args: string[] = []) {
  // Nothing of the developer's own set-up (.dev.vars, a running npm run dev, toolkit settings
  // in the environment) may switch the target under the test.
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(base)) if (/^(AI_TOOLKIT_|CF_ACCESS_|DEV_|DOCTOR_)/.test(key)) delete base[key];
  base.DEV_VARS_FILE = devVarsFile();
  base.DEV_DATA_DIR = devDataDir();
  const tsx = path.join(root, "node_modules/tsx/dist/cli.mjs");
  try {
    const { stdout, stderr } = await run(process.execPath, [tsx, "scripts/doctor.ts", ...args], {
      cwd: root,
      env: { ...base, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("npm run doctor", () => {
  let scratch = "";
  let toolkit: Awaited<ReturnType<typeof startToolkitServer>>;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "doctor-"));
    toolkit = await startToolkitServer({ port: 0, dataDir: scratch });
  });
  afterAll(async () => {
    await toolkit.close();
    await rm(scratch, { recursive: true, force: true });
  });

  it("walks every hop to a healthy toolkit and exits 0", async () => {
    const result = await doctor({ AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: String(toolkit.port) });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok {3}configuration: direct address http:\/\/127\.0\.0\.1:\d+/);
    expect(result.stdout).toMatch(/ok {3}toolkit: AI Toolkit MCP Server 2\.0\.0 answered \/health in \d+ ms/);
  });

  it("names the broken hop, its fix, and exits 1", async () => {
    const result = await doctor({ AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL reach: .*ECONNREFUSED/);
    expect(result.stdout).toMatch(/fix: No TOOLKIT binding and no AI_TOOLKIT_URL/);
  });

  it("reports an invalid setting as a configuration failure", async () => {
    const result = await doctor({ AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "not-a-port" });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL configuration: .*AI_TOOLKIT_PORT/);
  });
});

describe("npm run doctor says which API answers", () => {
  const TOKEN = "doctor-ui-t0ken-never-printed";
  let scratch = "";
  let bridge: Awaited<ReturnType<typeof startToolkitServer>>;
  let ui: Awaited<ReturnType<typeof startUiToolkitServer>>;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "doctor-api-"));
    bridge = await startToolkitServer({ port: 0, dataDir: path.join(scratch, "bridge") });
    ui = await startUiToolkitServer({ port: 0, dataDir: path.join(scratch, "ui"), token: TOKEN, tickMs: 0 });
  });
  afterAll(async () => {
    await Promise.all([bridge.close(), ui.close()]);
    await rm(scratch, { recursive: true, force: true });
  });
  const at = (port: number, more: Record<string, string> = {}) => ({
    AI_TOOLKIT_HOST: "127.0.0.1",
    AI_TOOLKIT_PORT: String(port),
    ...more,
  });

  it("the UI, with its token: exits 0", async () => {
    const result = await doctor(at(ui.port, { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: TOKEN }));
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(
      /ok {3}toolkit: ai-toolkit's UI answered \/api\/auth in \d+ ms and accepted the token/,
    );
    expect(result.stdout).toContain("ai-toolkit's UI answers.");
    expect(result.stdout).not.toContain(TOKEN);
  });

  it("the UI while AI_TOOLKIT_API is bridge: says what to set", async () => {
    const result = await doctor(at(ui.port));
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "FAIL toolkit: the target answers as ai-toolkit's UI, but AI_TOOLKIT_API is bridge",
    );
    expect(result.stdout).toMatch(/fix: Set AI_TOOLKIT_API=ui and AI_TOOLKIT_AUTH/);
  });

  it("the bridge while AI_TOOLKIT_API is ui: says what to set", async () => {
    const result = await doctor(at(bridge.port, { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: TOKEN }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /FAIL toolkit: the target answers as the original bridge .*, but AI_TOOLKIT_API is ui/,
    );
    expect(result.stdout).toMatch(/fix: Set AI_TOOLKIT_API=bridge/);
  });

  it("the UI refusing the token: names AI_TOOLKIT_AUTH, never the token", async () => {
    const result = await doctor(at(ui.port, { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: "wrong-token-here" }));
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL toolkit: .*the token in AI_TOOLKIT_AUTH is wrong/);
    expect(result.stdout).toMatch(/fix: Set AI_TOOLKIT_AUTH to exactly the token/);
    expect(result.stdout).not.toMatch(new RegExp(`wrong-token-here|${TOKEN}`));
  });

  it("with DEV_TOOLKIT=ui and no dev running: names the UI stand-in and how to start it", async () => {
    const port = await freePort();
    const result = await doctor({ DEV_TOOLKIT: "ui", DEV_TOOLKIT_PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`the local stand-in of ai-toolkit's UI at http://127.0.0.1:${port}`);
    expect(result.stdout).toContain("start `npm run dev -- --toolkit ui`");
  });
});

describe("npm run doctor checks what npm run dev points the Worker at", () => {
  let scratch = "";
  let toolkit: Awaited<ReturnType<typeof startToolkitServer>>;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "doctor-dev-"));
    toolkit = await startToolkitServer({ port: 0, dataDir: scratch });
  });
  afterAll(async () => {
    await toolkit.close();
    await rm(scratch, { recursive: true, force: true });
  });
  afterEach(async () => {
    await rm(devVarsFile(), { force: true });
    await rm(devDataDir(), { recursive: true, force: true });
  });

  it(
    "with no toolkit configured, checks the local toolkit on DEV_TOOLKIT_PORT, never wrangler.toml's LAN " + "address",
    async () => {
      const port = await freePort();
      const result = await doctor({ DEV_TOOLKIT_PORT: String(port) });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`the local toolkit at http://127.0.0.1:${port} (npm run dev is not running)`);
      expect(result.stdout).toMatch(new RegExp(`ok {3}configuration: direct address http://127\\.0\\.0\\.1:${port}`));
      expect(result.stdout).toMatch(/FAIL reach: .*ECONNREFUSED/);
      expect(result.stdout).toMatch(/fix: The local toolkit runs only while npm run dev does: start `npm run dev`/);
      expect(result.stdout).not.toContain("192.168.0.152");
    },
  );

  it("finds the local toolkit on DEV_TOOLKIT_PORT and exits 0", async () => {
    const result = await doctor({ DEV_TOOLKIT_PORT: String(toolkit.port) });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/ok {3}toolkit: AI Toolkit MCP Server 2\.0\.0 answered \/health/);
  });

  it(
    "uses the port a running npm run dev recorded (npm run dev -- --toolkit-port), and ignores a dead one's " +
      "record",
    async () => {
      const cliVars = devWorkerTarget("", {}, {}, toolkit.port).cliVars;
      writeDevRun(devDataDir(), {
        pid: process.pid,
        workerUrl: "http://127.0.0.1:1",
        toolkitUrl: toolkit.url,
        upstream: "bridge",
        cliVars,
      });
      const running = await doctor({ DEV_TOOLKIT_PORT: String(await freePort()) });
      expect(running.code, running.stdout).toBe(0);
      expect(running.stdout).toContain(
        `ok   npm run dev (pid ${process.pid}) runs with the local toolkit at ${toolkit.url}`,
      );

      // A dev that died without cleaning up: its record is ignored.
      const gone = spawn(process.execPath, ["-e", ""]);
      await new Promise((resolve) => gone.on("exit", resolve));
      writeDevRun(devDataDir(), {
        pid: gone.pid ?? 0,
        workerUrl: "http://127.0.0.1:1",
        toolkitUrl: toolkit.url,
        upstream: "bridge",
        cliVars,
      });
      expect(readDevRun(devDataDir())).toBeUndefined();
      const port = await freePort();
      const stale = await doctor({ DEV_TOOLKIT_PORT: String(port) });
      expect(stale.code).toBe(1);
      expect(stale.stdout).toContain(`the local toolkit at http://127.0.0.1:${port} (npm run dev is not running)`);
    },
  );

  it("reads the toolkit configured in the .dev.vars that dev uses (DEV_VARS_FILE)", async () => {
    await writeFile(devVarsFile(), `OWNER_PASSWORD=x\nAI_TOOLKIT_HOST=127.0.0.1\nAI_TOOLKIT_PORT=${toolkit.port}\n`);
    const result = await doctor({ DEV_TOOLKIT_PORT: String(await freePort()) });
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).not.toContain("local toolkit");
    expect(result.stdout).toContain(`ok   configuration: direct address http://127.0.0.1:${toolkit.port}`);
  });

  it("removes only its own record", async () => {
    await mkdir(devDataDir(), { recursive: true });
    writeDevRun(devDataDir(), {
      pid: process.pid,
      workerUrl: "http://127.0.0.1:1",
      toolkitUrl: null,
      upstream: null,
      cliVars: {},
    });
    removeDevRun(devDataDir(), process.pid + 1);
    expect(readDevRun(devDataDir())?.pid).toBe(process.pid);
    removeDevRun(devDataDir(), process.pid);
    expect(readDevRun(devDataDir())).toBeUndefined();
  });
});

describe("npm run doctor's command line", () => {
  it("prints its usage with every flag for --help, and exits 0", async () => {
    const result = await doctor({}, ["--help"]);
    expect(result.code).toBe(0);
    for (const flag of ["--worker <url>", "--config <file>", "-h, --help"]) expect(result.stdout).toContain(flag);
  });

  it("refuses an unknown flag or a flag without its value, with the usage", async () => {
    for (const args of [["--bogus"], ["--worker"], ["stray"]]) {
      const result = await doctor({}, args);
      expect(result.code, args.join(" ")).toBe(64);
      expect(result.stderr).toContain("Usage: npm run doctor");
      expect(result.stdout).toBe("");
    }
  });

  it("reports a bad DEV_TOOLKIT_PORT as a configuration failure", async () => {
    const result = await doctor({ DEV_TOOLKIT_PORT: "http" });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL configuration: DEV_TOOLKIT_PORT must be a port number/);
  });
});

describe("where npm run dev points the Worker (shared by dev and doctor)", () => {
  it("uses the local toolkit when nothing is configured, whatever wrangler.toml's [vars] say", () => {
    const toml = '[vars]\nAI_TOOLKIT_HOST = "192.168.0.152"\n';
    expect(devWorkerTarget(toml, {}, {}, 9012)).toEqual({
      configured: false,
      localToolkit: { host: "127.0.0.1", port: 9012, url: "http://127.0.0.1:9012", api: "bridge" },
      cliVars: { AI_TOOLKIT_API: "bridge", AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "9012" },
    });
    expect(devWorkerTarget(toml, {}, {}, 8675, "ui")).toMatchObject({
      localToolkit: { url: "http://127.0.0.1:8675", api: "ui" },
      cliVars: { AI_TOOLKIT_API: "ui", AI_TOOLKIT_PORT: "8675" },
    });
  });

  it("takes the local toolkit from DEV_TOOLKIT or --toolkit, with that upstream's port by default", () => {
    expect(devSettings("/r", {})).toMatchObject({ toolkit: "bridge", toolkitPort: 8012 });
    expect(devSettings("/r", { DEV_TOOLKIT: "UI" })).toMatchObject({ toolkit: "ui", toolkitPort: 8675 });
    expect(devSettings("/r", { DEV_TOOLKIT: "ui" }, { toolkit: "bridge" })).toMatchObject({ toolkit: "bridge" });
    expect(devSettings("/r", { DEV_TOOLKIT: "ui", DEV_TOOLKIT_PORT: "9000" })).toMatchObject({ toolkitPort: 9000 });
    expect(() => devSettings("/r", { DEV_TOOLKIT: "comfy" })).toThrow(/DEV_TOOLKIT must be "bridge" .* or "ui"/);
    expect(() => devSettings("/r", {}, { toolkit: "" })).toThrow(/--toolkit must be/);
  });

  it("keeps the UI stand-in's token in .dev.vars: made once, then reused", async () => {
    await mkdir(home, { recursive: true });
    const file = path.join(home, "token.dev.vars");
    await writeFile(file, "OWNER_PASSWORD=x");
    const first = ensureUiToken(file);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[\w-]{32}$/);
    expect(readDevVars(file)).toEqual({ OWNER_PASSWORD: "x", AI_TOOLKIT_AUTH: first.token });
    expect(ensureUiToken(file)).toEqual({ token: first.token, created: false });
    expect(redacted(first.token)).toBe(`${first.token.slice(0, 4)}…`);
    await rm(file);
  });

  it("leaves a configured toolkit alone, and passes one set in the environment on to wrangler dev", () => {
    expect(devWorkerTarget("", { AI_TOOLKIT_URL: "https://toolkit.example" }, {}, 8012)).toEqual({
      configured: true,
      cliVars: {},
    });
    expect(
      devWorkerTarget("", {}, { AI_TOOLKIT_HOST: "10.0.0.5", AI_TOOLKIT_PORT: "9000", AI_TOOLKIT_URL: "" }, 8012),
    ).toEqual({
      configured: true,
      cliVars: { AI_TOOLKIT_HOST: "10.0.0.5", AI_TOOLKIT_PORT: "9000" },
    });
    expect(devWorkerTarget('[[vpc_services]]\nbinding = "TOOLKIT"\n', {}, {}, 8012).configured).toBe(true);
  });
});

describe("npm run doctor with a Workers VPC binding", () => {
  const tunnelDown = {
    status: "degraded",
    toolkit: {
      transport: "vpc",
      reachable: false,
      hops: [
        { hop: "configuration", ok: true },
        { hop: "reach", ok: true },
        { hop: "tunnel", ok: false },
      ],
      failed_hop: "tunnel",
    },
  };
  let deployedHealth: unknown = tunnelDown;
  let scratch = "";
  let worker: Server;
  let vpcToml = "";
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "doctor-vpc-"));
    vpcToml = path.join(scratch, "wrangler.toml");
    const base = await readFile(path.join(root, "wrangler.toml"), "utf8");
    await writeFile(vpcToml, `${base}\n[[vpc_services]]\nbinding = "TOOLKIT"\nservice_id = "0000"\n`);
    // A stand-in for the deployed Worker's /health: the tunnel hop is down.
    worker = createServer((_req, res) => {
      res.writeHead(503, { "content-type": "application/json" });
      res.end(JSON.stringify(deployedHealth));
    });
    await new Promise<void>((resolve) => worker.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => worker.close(resolve));
    await rm(scratch, { recursive: true, force: true });
  });

  it("says nothing was checked without --worker, and exits 2", async () => {
    const result = await doctor({}, ["--config", vpcToml]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/NOT CHECKED: a VPC binding works only inside Cloudflare/);
  });

  it("reads the deployed Worker's hops and prints the fix for the broken one", async () => {
    const { port } = worker.address() as AddressInfo;
    const result = await doctor({}, ["--config", vpcToml, "--worker", `http://127.0.0.1:${port}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/ok {3}reach\nFAIL tunnel\n {5}fix: Start cloudflared on the LAN box/);
  });

  it("says which API answers the deployed Worker and what to set when it is not AI_TOOLKIT_API's", async () => {
    const { port } = worker.address() as AddressInfo;
    const toolkitHopFails = (more: Record<string, unknown>) => ({
      status: "degraded",
      toolkit: {
        transport: "vpc",
        reachable: false,
        hops: [
          { hop: "configuration", ok: true },
          { hop: "reach", ok: true },
          { hop: "tunnel", ok: true },
          { hop: "toolkit", ok: false },
        ],
        failed_hop: "toolkit",
        ...more,
      },
    });
    try {
      deployedHealth = toolkitHopFails({ api: "bridge", answering: "ui", authenticated: false });
      const mismatch = await doctor({}, ["--config", vpcToml, "--worker", `http://127.0.0.1:${port}`]);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stdout).toMatch(
        /FAIL toolkit: the target answers as ai-toolkit's UI, but AI_TOOLKIT_API is bridge\n {5}fix: Set AI_TOOLKIT_API=ui/,
      );
      deployedHealth = toolkitHopFails({ api: "ui", answering: "ui", authenticated: false });
      const refused = await doctor({}, ["--config", vpcToml, "--worker", `http://127.0.0.1:${port}`]);
      expect(refused.stdout).toMatch(/FAIL toolkit: ai-toolkit's UI answered but refused the Worker's token/);
      expect(refused.stdout).toMatch(/fix: Set AI_TOOLKIT_AUTH to exactly the token/);
    } finally {
      deployedHealth = tunnelDown;
    }
  });
});

describe("reading wrangler.toml", () => {
  it("reads [vars] and ignores other tables", () => {
    const toml =
      'name = "x"\n[vars]\nAI_TOOLKIT_HOST = "192.168.0.152"\nAI_TOOLKIT_PORT = ' +
      '"8012"\n[[kv_namespaces]]\nbinding = "OAUTH_KV"\n';
    expect(wranglerVars(toml)).toEqual({ AI_TOOLKIT_HOST: "192.168.0.152", AI_TOOLKIT_PORT: "8012" });
  });

  it("sees a VPC binding only when the block is uncommented", () => {
    expect(hasVpcBinding('# [[vpc_services]]\n# binding = "TOOLKIT"\n')).toBe(false);
    expect(hasVpcBinding('[[vpc_services]]\nbinding = "TOOLKIT"\nservice_id = "abc"\n')).toBe(true);
  });
});
