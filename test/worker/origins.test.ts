import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import { obtainAccessToken, type Fetcher } from "../shared/oauth-flow";
import { mcpPost, workerOver } from "./helpers/instance";

/** The Worker on a custom domain, where only loopback pages and its own origin are allowed by default. */
const WORKER = "https://toolkit-mcp.example.com";
let address = 0;

function withSettings(settings: Partial<Record<keyof Env, string>>) {
  return workerOver({ ...env, ...settings } as Env);
}

function listTools(fetch: Fetcher, token: string, origin?: string) {
  return mcpPost(fetch, WORKER, token, "tools/list", origin ? { Origin: origin } : {});
}

describe("browser origins on /mcp", () => {
  it("lets ALLOWED_ORIGINS in, exactly, and refuses every other origin", async () => {
    const fetch = withSettings({
      ALLOWED_ORIGINS: "https://app.example.com, http://localhost:6274,https://other.example.org:8443",
    });
    const token = await obtainAccessToken(WORKER, env.OWNER_PASSWORD, fetch, {
      "CF-Connecting-IP": `192.0.2.${++address}`,
    });
    const status = async (origin?: string) => (await listTools(fetch, token, origin)).status;

    // Not a browser: no Origin, nothing to check.
    expect(await status()).toBe(200);
    // Listed, exactly as a browser sends it.
    expect(await status("https://app.example.com")).toBe(200);
    expect(await status("https://other.example.org:8443")).toBe(200);
    // The Worker's own pages, and loopback pages (the MCP SDK's default), stay allowed.
    expect(await status(WORKER)).toBe(200);
    expect(await status("http://localhost:6274")).toBe(200);
    // Anything else is refused: other sites, and a listed host on another scheme or port.
    for (const origin of [
      "https://evil.example.com",
      "http://app.example.com",
      "https://app.example.com:8443",
      "https://other.example.org",
      "https://app.example.com.evil.example",
      "null",
    ]) {
      const refused = await listTools(fetch, token, origin);
      expect(refused.status, origin).toBe(403);
      expect(await refused.text()).toContain("Invalid Origin");
    }
  });

  it("refuses a hosted browser client on a custom domain unless it is listed", async () => {
    const fetch = withSettings({});
    const token = await obtainAccessToken(WORKER, env.OWNER_PASSWORD, fetch, {
      "CF-Connecting-IP": `192.0.2.${++address}`,
    });
    expect((await listTools(fetch, token, "https://app.example.com")).status).toBe(403);
    expect((await listTools(fetch, token)).status).toBe(200);
  });
});

describe("the ALLOWED_ORIGINS setting", () => {
  it("reads comma-separated origins in the form browsers send them", () => {
    expect(readConfig({}).ALLOWED_ORIGINS).toEqual([]);
    expect(readConfig({ ALLOWED_ORIGINS: "" }).ALLOWED_ORIGINS).toEqual([]);
    expect(
      readConfig({ ALLOWED_ORIGINS: " https://App.Example.com/ , http://localhost:3000,https://app.example.com:443," })
        .ALLOWED_ORIGINS,
    ).toEqual(["https://app.example.com", "http://localhost:3000"]);
  });

  it("refuses anything that is not an origin, naming the setting", () => {
    for (const bad of [
      "*",
      "null",
      "app.example.com",
      "https://*.example.com",
      "https://app.example.com/path",
      "https://app.example.com?x=1",
      "https://user@app.example.com",
      "ftp://app.example.com",
      "https://",
    ]) {
      expect(() => readConfig({ ALLOWED_ORIGINS: `https://ok.example.com,${bad}` }), bad).toThrow(
        /ALLOWED_ORIGINS: .*is not an origin/,
      );
    }
  });

  it("refuses plain http except on a loopback host", () => {
    expect(() => readConfig({ ALLOWED_ORIGINS: "http://app.example.com" })).toThrow(
      /ALLOWED_ORIGINS: .*must use https/,
    );
    expect(readConfig({ ALLOWED_ORIGINS: "http://127.0.0.1:5173,http://[::1]:3000" }).ALLOWED_ORIGINS).toEqual([
      "http://127.0.0.1:5173",
      "http://[::1]:3000",
    ]);
  });
});
