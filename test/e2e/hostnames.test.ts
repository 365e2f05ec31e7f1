import type { ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterEach, describe, expect, it } from "vitest";
import { obtainAccessToken } from "../shared/oauth-flow";
import { freePort, OWNER_PASSWORD, startWrangler, stopProcess } from "./harness";

/**
 * One running Worker reached through two hostnames, as `npm run dev` is when a client uses
 * http://localhost:8787 and another http://127.0.0.1:8787. They are two OAuth resources:
 * both must sign in, in whichever order the Worker first sees them, and a token from one
 * must be refused on the other.
 */
describe("one wrangler dev, two hostnames", () => {
  let running: { wrangler: ChildProcess; scratch: string } | undefined;

  afterEach(async () => {
    if (!running) return;
    await stopProcess(running.wrangler);
    await rm(running.scratch, { recursive: true, force: true });
    running = undefined;
  });

  async function start(firstHost: string): Promise<number> {
    const scratch = await mkdtemp(join(tmpdir(), "ai-toolkit-hosts-"));
    const port = await freePort();
    // No toolkit: tools/list needs none. The first request the Worker serves goes to firstHost.
    const wrangler = await startWrangler(
      port,
      { OWNER_PASSWORD, AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "9" },
      join(scratch, "state"),
      firstHost,
    );
    running = { wrangler, scratch };
    return port;
  }

  async function toolNames(workerUrl: string, token: string): Promise<string[]> {
    const client = new Client({ name: "e2e hostnames", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${workerUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    });
    await client.connect(transport);
    try {
      return (await client.listTools()).tools.map((tool) => tool.name);
    } finally {
      await client.close();
    }
  }

  async function statusWith(workerUrl: string, token: string): Promise<number> {
    const response = await fetch(`${workerUrl}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    await response.body?.cancel();
    return response.status;
  }

  for (const [first, second] of [
    ["127.0.0.1", "localhost"],
    ["localhost", "127.0.0.1"],
  ] as const) {
    it(`signs in through ${first}, then ${second}; each token works only where it was issued`, async () => {
      const port = await start(first);
      const urls = [`http://${first}:${port}`, `http://${second}:${port}`];
      // What a user does first: look at the health check on the first hostname.
      expect((await fetch(`${urls[0]}/health`)).headers.get("Content-Type")).toContain("application/json");

      const tokens: string[] = [];
      for (const url of urls) tokens.push(await obtainAccessToken(url, OWNER_PASSWORD));

      for (const [i, url] of urls.entries()) {
        expect(await toolNames(url, tokens[i]!)).toContain("create_training_config");
        // The other hostname is another resource: its token is refused here.
        expect(await statusWith(url, tokens[1 - i]!)).toBe(401);
      }
      // Back to the first hostname after the second signed in: still fine.
      expect(await toolNames(urls[0]!, tokens[0]!)).toContain("create_training_config");
    });
  }
});
