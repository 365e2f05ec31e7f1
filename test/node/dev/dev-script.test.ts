import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort, stopProcess } from "../../e2e/harness";
import { obtainAccessToken } from "../../shared/oauth-flow";

const root = path.resolve(import.meta.dirname, "../../..");

/** `npm run dev` on a fresh checkout: a password is made and printed, the local toolkit starts, the Worker uses it. */
describe("npm run dev", () => {
  let scratch = "";
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  it("writes .dev.vars with a generated password, starts the local toolkit and serves /mcp", async () => {
    scratch = await mkdtemp(path.join(tmpdir(), "dev-script-"));
    const [port, toolkitPort] = [await freePort(), await freePort()];
    const varsFile = path.join(scratch, ".dev.vars");
    const env: NodeJS.ProcessEnv = { ...process.env, DEV_PORT: String(port), DEV_TOOLKIT_PORT: String(toolkitPort), DEV_DATA_DIR: scratch, DEV_VARS_FILE: varsFile };
    delete env.AI_TOOLKIT_HOST;
    delete env.AI_TOOLKIT_URL;
    const child = spawn(process.execPath, [path.join(root, "scripts/dev.ts")], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      let health: { toolkit?: { reachable?: boolean } } = {};
      for (let i = 0; i < 240 && !health.toolkit?.reachable; i++) {
        await new Promise((r) => setTimeout(r, 250));
        health = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.json() as Promise<typeof health>, () => ({}));
      }
      expect(health.toolkit?.reachable, output).toBe(true);

      const password = /Owner password \(shown once, kept in [^)]+\): (\S+)/.exec(output)?.[1];
      expect(password).toBeTruthy();
      expect(await readFile(varsFile, "utf8")).toContain(`OWNER_PASSWORD=${password}`);
      // The printed password is the one the Worker checks.
      const token = await obtainAccessToken(`http://127.0.0.1:${port}`, password ?? "");
      expect(token).toMatch(/\S{20,}/);
      expect(output).toContain(`using the local toolkit at http://127.0.0.1:${toolkitPort}`);
    } finally {
      await stopProcess(child);
    }
    // Both children are gone with it.
    await expect(fetch(`http://127.0.0.1:${toolkitPort}/health`)).rejects.toThrow();
  });
});
