import { SELF, env, runInDurableObject } from "cloudflare:test";
import type { AttemptLimiter } from "../../src/auth/attempts";
import { describe, expect, it, vi } from "vitest";
import { MAX_FAILURES, WINDOW_MS } from "../../src/auth/attempts";
import { mcpPost, workerOver } from "./helpers/instance";
import { configSchema, readConfig, requestEnv } from "../../src/config";
import {
  authorizeUrl,
  exchangeCode,
  obtainAccessToken,
  pkce,
  registerClient,
  submitConsent,
  type Fetcher,
} from "../shared/oauth-flow";

const ORIGIN = "http://127.0.0.1:8787";
const PASSWORD = env.OWNER_PASSWORD;
const fetchSelf: Fetcher = (input, init) => SELF.fetch(input, init);
/** Each test signs in from its own address, so the attempt limiter does not carry over. */
let address = 0;
const fromNewAddress = () => ({ "CF-Connecting-IP": `203.0.113.${++address}` });
/** Each registration from its own address too: registrations are rate-limited per address. */
const register = (name: string, fetch: Fetcher = fetchSelf, origin = ORIGIN) =>
  registerClient(origin, name, fetch, fromNewAddress());

describe("discovery", () => {
  it("publishes protected resource metadata for /mcp bound to the origin the client used", async () => {
    for (const origin of [ORIGIN, "https://ai-toolkit-mcp.example.workers.dev"]) {
      const response = await SELF.fetch(`${origin}/.well-known/oauth-protected-resource/mcp`);
      expect(response.status).toBe(200);
      const metadata = (await response.json()) as Record<string, unknown>;
      expect(metadata.resource).toBe(`${origin}/mcp`);
      expect(metadata.authorization_servers).toEqual([origin]);
    }
  });

  it("publishes authorization server metadata: PKCE S256 only, registration, CIMD", async () => {
    const metadata = (await (await SELF.fetch(`${ORIGIN}/.well-known/oauth-authorization-server`)).json()) as Record<
      string,
      unknown
    >;
    expect(metadata.code_challenge_methods_supported).toEqual(["S256"]);
    expect(metadata.registration_endpoint).toBe(`${ORIGIN}/register`);
    expect(metadata.authorization_endpoint).toBe(`${ORIGIN}/authorize`);
    expect(metadata.client_id_metadata_document_supported).toBe(true);
  });

  it("answers /mcp without a token with 401 naming the resource metadata", async () => {
    const response = await SELF.fetch(`${ORIGIN}/mcp`, { method: "POST", body: "{}" });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toContain(
      `resource_metadata="${ORIGIN}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it("refuses a made-up token", async () => {
    const response = await SELF.fetch(`${ORIGIN}/mcp`, {
      method: "POST",
      body: "{}",
      headers: { Authorization: "Bearer owner:grant:nope" },
    });
    expect(response.status).toBe(401);
  });
});

describe("the authorize page", () => {
  it("shows the client's name and redirect host, escaped, with one password field", async () => {
    const client = await register("<script>alert(1)</script> Inspector");
    const { challenge } = await pkce();
    const response = await SELF.fetch(authorizeUrl(ORIGIN, client, challenge));
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62; Inspector");
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("<strong>127.0.0.1</strong>");
    expect(html.match(/type="password"/g)).toHaveLength(1);
    expect(html).toMatch(/value="approve"[\s\S]*value="deny"/);
    expect(response.headers.get("X-Frame-Options")).toBe("DENY");
  });

  it("approves with the right password and the code becomes a token for /mcp", async () => {
    const client = await register("test");
    const attempt = await submitConsent(ORIGIN, client, PASSWORD, "approve", fromNewAddress(), fetchSelf);
    expect(attempt.response.status).toBe(302);
    expect(attempt.location?.searchParams.get("state")).toBe("e2e-state");
    const code = attempt.location?.searchParams.get("code") ?? "";
    const tokens = await exchangeCode(ORIGIN, client, code, attempt.verifier, fetchSelf);
    const mcp = await SELF.fetch(`${ORIGIN}/mcp`, {
      method: "POST",
      headers: {
        Authorization: `Bearer ${tokens.access_token}`,
        "Content-Type": "application/json",
        Accept: "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18",
        // A real HTTP request always carries Host; the MCP handler validates it.
        Host: "127.0.0.1:8787",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list", params: {} }),
    });
    expect(mcp.status, await mcp.clone().text()).toBe(200);
    expect(await mcp.text()).toContain("create_training_config");
    // Bound to this resource: the same token is refused on another origin's /mcp.
    const elsewhere = await SELF.fetch("https://other.example.com/mcp", {
      method: "POST",
      body: "{}",
      headers: { Authorization: `Bearer ${tokens.access_token}` },
    });
    expect(elsewhere.status).toBe(401);
  });

  it("re-renders the page with an error on a wrong password and issues nothing", async () => {
    const client = await register("test");
    const attempt = await submitConsent(ORIGIN, client, "wrong", "approve", fromNewAddress(), fetchSelf);
    expect(attempt.response.status).toBe(401);
    expect(attempt.location).toBeUndefined();
    const html = await attempt.response.text();
    expect(html).toContain("Wrong password. 4 tries left");
    expect(html).toContain('name="handle"');
  });

  it(`locks an address out after ${MAX_FAILURES} wrong passwords, even with the right one`, async () => {
    const client = await register("test");
    const headers = fromNewAddress();
    const statuses: number[] = [];
    for (let i = 0; i < MAX_FAILURES; i++) {
      statuses.push((await submitConsent(ORIGIN, client, `wrong-${i}`, "approve", headers, fetchSelf)).response.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const locked = await submitConsent(ORIGIN, client, PASSWORD, "approve", headers, fetchSelf);
    expect(locked.response.status).toBe(429);
    expect(Number(locked.response.headers.get("Retry-After"))).toBeGreaterThan(500);
    // Another address is not affected.
    const other = await submitConsent(ORIGIN, client, PASSWORD, "approve", fromNewAddress(), fetchSelf);
    expect(other.response.status).toBe(302);
  });

  it("counts parallel guesses: no more than the allowed attempts get a password check", async () => {
    const client = await register("test");
    const headers = fromNewAddress();
    const attempts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => submitConsent(ORIGIN, client, `guess-${i}`, "approve", headers, fetchSelf)),
    );
    const statuses = attempts.map((a) => a.response.status).sort();
    expect(
      statuses.filter((s) => s === 401),
      String(statuses),
    ).toHaveLength(MAX_FAILURES - 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(12 - (MAX_FAILURES - 1));
    const locked = await submitConsent(ORIGIN, client, PASSWORD, "approve", headers, fetchSelf);
    expect(locked.response.status).toBe(429);
  });

  it("forgives a right password: earlier failures do not count against the next sign-in", async () => {
    const client = await register("test");
    const headers = fromNewAddress();
    for (let i = 0; i < MAX_FAILURES - 1; i++)
      await submitConsent(ORIGIN, client, "wrong", "approve", headers, fetchSelf);
    expect((await submitConsent(ORIGIN, client, PASSWORD, "approve", headers, fetchSelf)).response.status).toBe(302);
    const next = await submitConsent(ORIGIN, client, "wrong", "approve", headers, fetchSelf);
    expect(await next.response.text()).toContain(`${MAX_FAILURES - 1} tries left`);
  });

  it("redirects with access_denied when the owner denies", async () => {
    const client = await register("test");
    const attempt = await submitConsent(ORIGIN, client, "", "deny", fromNewAddress(), fetchSelf);
    expect(attempt.response.status).toBe(302);
    expect(attempt.location?.searchParams.get("error")).toBe("access_denied");
    expect(attempt.location?.searchParams.get("code")).toBeNull();
  });

  it("refuses an authorization request without PKCE", async () => {
    const client = await register("test");
    const url = new URL(authorizeUrl(ORIGIN, client, "x"));
    url.searchParams.delete("code_challenge");
    url.searchParams.delete("code_challenge_method");
    const response = await SELF.fetch(url.toString(), { redirect: "manual" });
    expect([302, 400]).toContain(response.status);
    if (response.status === 302) expect(response.headers.get("Location")).toContain("error=");
  });
});

describe("several hostnames on one Worker instance", () => {
  /** One instance: every request gets the same env object, as workerd hands it to an isolate. */
  function oneInstance() {
    const shared = { ...env } as Env;
    return { shared, fetch: workerOver(shared) };
  }

  function listTools(fetch: Fetcher, origin: string, token: string) {
    return mcpPost(fetch, origin, token, "tools/list");
  }

  const LOCALHOST = "http://localhost:8787";
  const CUSTOM = "https://toolkit-mcp.example.com";
  for (const order of [
    [LOCALHOST, ORIGIN, CUSTOM],
    [ORIGIN, LOCALHOST, CUSTOM],
    [CUSTOM, LOCALHOST, ORIGIN],
  ]) {
    it(`signs in through ${order.join(", then ")}: each token works on its own host only`, async () => {
      const { shared, fetch } = oneInstance();
      // The instance first serves the first hostname without signing anyone in, as a health check would.
      expect((await fetch(`${order[0]}/`)).status).toBe(200);
      const tokens: string[] = [];
      for (const origin of order) tokens.push(await obtainAccessToken(origin, PASSWORD, fetch, fromNewAddress()));
      for (const [i, origin] of order.entries()) {
        for (const [j, token] of tokens.entries()) {
          const response = await listTools(fetch, origin, token);
          expect(response.status, `token from ${order[j]} on ${origin}`).toBe(i === j ? 200 : 401);
        }
      }
      // The library's helpers stayed with each request: the shared env was never written to.
      expect("OAUTH_PROVIDER" in shared).toBe(false);
    });
  }

  it("binds the grant to the second hostname when /token names no resource", async () => {
    const { fetch } = oneInstance();
    expect((await fetch(`${ORIGIN}/health`)).status).toBeGreaterThan(0);
    const client = await registerClient(LOCALHOST, "second host", fetch, fromNewAddress());
    const attempt = await submitConsent(LOCALHOST, client, PASSWORD, "approve", fromNewAddress(), fetch);
    const code = attempt.location?.searchParams.get("code");
    expect(code, await attempt.response.clone().text()).toBeTruthy();
    const response = await fetch(`${LOCALHOST}/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: code!,
        redirect_uri: client.redirectUri,
        client_id: client.clientId,
        code_verifier: attempt.verifier,
      }).toString(),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const { access_token } = (await response.json()) as { access_token: string };
    expect((await listTools(fetch, LOCALHOST, access_token)).status).toBe(200);
    expect((await listTools(fetch, ORIGIN, access_token)).status).toBe(401);
  });

  it("parses the settings once per instance, not once per request", async () => {
    const shared = { ...env } as Env;
    const config = readConfig(shared);
    expect(readConfig(requestEnv(shared))).toBe(config);
    expect(readConfig(requestEnv(requestEnv(shared)))).toBe(config);

    const { fetch } = oneInstance();
    const parse = vi.spyOn(configSchema, "safeParse");
    try {
      // Each of these reads the settings, on the shared env and on the request's copy of it.
      for (const origin of [ORIGIN, LOCALHOST, ORIGIN]) {
        expect((await fetch(`${origin}/authorize?client_id=nobody`)).status).toBe(400);
      }
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });
});

describe("an origin OAuth cannot serve", () => {
  it("explains why instead of failing, and still answers /health", async () => {
    const response = await SELF.fetch("http://toolkit.lan:8787/mcp", { method: "POST", body: "{}" });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/OAuth needs https, or http on a loopback address.*set MCP_RESOURCE/);
    const health = await SELF.fetch("http://toolkit.lan:8787/health");
    expect((await health.json()) as object).toHaveProperty("worker.version");
  });
});

describe("health", () => {
  it("answers without a token and reveals no secret", async () => {
    const response = await SELF.fetch(`${ORIGIN}/health`);
    const body = (await response.json()) as {
      worker: { version: string };
      toolkit: { transport: string; reachable: boolean; failed_hop?: string };
    };
    expect(body.worker.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.toolkit.transport).toBe("direct");
    expect(body.toolkit.reachable).toBe(false);
    expect(body.toolkit).toMatchObject({
      failed_hop: "reach",
      hops: [
        { hop: "configuration", ok: true },
        { hop: "reach", ok: false },
      ],
    });
    expect(response.status).toBe(503);
    expect(JSON.stringify(body)).not.toContain(PASSWORD);
    expect(JSON.stringify(body)).not.toContain("127.0.0.1");
  });
});

describe("settings that change sign-in", () => {
  /** The Worker with some settings changed, as `wrangler dev --var` or a deployed secret would. */
  const withSettings = (settings: Partial<Record<keyof Env, string>>) => workerOver({ ...env, ...settings } as Env);

  it("refuses to sign anyone in when OWNER_PASSWORD is unset, and says how to set it", async () => {
    const fetchUnset = withSettings({ OWNER_PASSWORD: "" });
    const client = await register("test", (i, init) => fetchUnset(i, init));
    const { challenge } = await pkce();
    const page = await fetchUnset(authorizeUrl(ORIGIN, client, challenge));
    expect(page.status).toBe(503);
    const html = await page.text();
    expect(html).toContain("Sign-in is not set up");
    expect(html).toContain("npx wrangler secret put OWNER_PASSWORD");
    expect(html).not.toContain('type="password"');
  });

  it("binds tokens to MCP_RESOURCE when it pins the resource, whatever origin is used", async () => {
    const pinned = withSettings({ MCP_RESOURCE: "https://toolkit-mcp.example.com/mcp" });
    const metadata = (await (
      await pinned("https://toolkit-mcp.example.com/.well-known/oauth-protected-resource/mcp")
    ).json()) as { resource: string };
    expect(metadata.resource).toBe("https://toolkit-mcp.example.com/mcp");
    const challenge = await pinned("https://toolkit-mcp.example.com/mcp", { method: "POST", body: "{}" });
    expect(challenge.headers.get("WWW-Authenticate")).toContain(
      'resource_metadata="https://toolkit-mcp.example.com/.well-known/oauth-protected-resource/mcp"',
    );
    // Another origin is not the pinned resource: it gets no metadata pointing at itself.
    const elsewhere = await pinned(`${ORIGIN}/mcp`, { method: "POST", body: "{}" });
    expect(elsewhere.status).toBe(401);
    expect(elsewhere.headers.get("WWW-Authenticate") ?? "").not.toContain(ORIGIN);
  });

  it("lets an address try again once the window has passed", async () => {
    const stub = env.ATTEMPT_LIMITER.get(env.ATTEMPT_LIMITER.idFromName("window-test"));
    const start = Date.now();
    for (let i = 0; i < MAX_FAILURES; i++) await stub.reserve(MAX_FAILURES, start);
    expect((await stub.reserve(MAX_FAILURES, start + 1000)).allowed).toBe(false);
    expect((await stub.reserve(MAX_FAILURES, start + WINDOW_MS - 1)).allowed).toBe(false);
    const later = await stub.reserve(MAX_FAILURES, start + WINDOW_MS + 1);
    expect(later).toMatchObject({ allowed: true, count: 1 });
    // clear() (a right password) forgets everything.
    await runInDurableObject(stub, async (instance: AttemptLimiter, state) => {
      expect(state.storage.kv.get("attempts")).toHaveLength(1);
      await instance.clear();
      expect(state.storage.kv.get("attempts")).toBeUndefined();
    });
  });
});
