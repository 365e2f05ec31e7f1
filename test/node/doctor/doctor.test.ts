import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startToolkitServer } from "../../../tunnel/toolkit/server.ts";
import { hasVpcBinding, wranglerVars } from "../../../scripts/local-settings.ts";
import { freePort } from "../../e2e/harness";

const root = path.resolve(import.meta.dirname, "../../..");
const run = promisify(execFile);

async function doctor(env: Record<string, string>, args: string[] = []) {
  // A developer's own .dev.vars must not switch the transport under the test.
  env = { AI_TOOLKIT_URL: "", CF_ACCESS_CLIENT_ID: "", CF_ACCESS_CLIENT_SECRET: "", ...env };
  const tsx = path.join(root, "node_modules/tsx/dist/cli.mjs");
  try {
    const { stdout } = await run(process.execPath, [tsx, "scripts/doctor.ts", ...args], { cwd: root, env: { ...process.env, ...env } });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
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

describe("npm run doctor with a Workers VPC binding", () => {
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
      res.end(JSON.stringify({
        status: "degraded",
        toolkit: { transport: "vpc", reachable: false, hops: [{ hop: "configuration", ok: true }, { hop: "reach", ok: true }, { hop: "tunnel", ok: false }], failed_hop: "tunnel" },
      }));
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
});

describe("reading wrangler.toml", () => {
  it("reads [vars] and ignores other tables", () => {
    const toml = 'name = "x"\n[vars]\nAI_TOOLKIT_HOST = "192.168.0.152"\nAI_TOOLKIT_PORT = "8012"\n[[kv_namespaces]]\nbinding = "OAUTH_KV"\n';
    expect(wranglerVars(toml)).toEqual({ AI_TOOLKIT_HOST: "192.168.0.152", AI_TOOLKIT_PORT: "8012" });
  });

  it("sees a VPC binding only when the block is uncommented", () => {
    expect(hasVpcBinding('# [[vpc_services]]\n# binding = "TOOLKIT"\n')).toBe(false);
    expect(hasVpcBinding('[[vpc_services]]\nbinding = "TOOLKIT"\nservice_id = "abc"\n')).toBe(true);
  });
});
