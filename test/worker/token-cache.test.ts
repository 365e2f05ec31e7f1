import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TOKEN_CACHE_TTL_MS, TokenRecordCache, tokenRecords } from "../../src/auth/token-cache";
import { obtainAccessToken, type Fetcher } from "../shared/oauth-flow";
import { mcpPost, workerOver } from "./helpers/instance";

const ORIGIN = "http://127.0.0.1:8787";
const LOCALHOST = "http://localhost:8787";
const PASSWORD = env.OWNER_PASSWORD;
let address = 0;
const fromNewAddress = () => ({ "CF-Connecting-IP": `198.51.100.${++address}` });

afterEach(() => vi.restoreAllMocks());

/** One Worker instance whose OAUTH_KV counts the token records it is asked for. */
function countingInstance() {
  const kv = env.OAUTH_KV;
  const reads = { token: 0 };
  const counted = new Proxy(kv, {
    get(target, property) {
      if (property === "get") {
        return (key: string, options?: unknown) => {
          if (key.startsWith("token:")) reads.token++;
          return (target.get as (key: string, options?: unknown) => Promise<unknown>)(key, options);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { fetch: workerOver({ ...env, OAUTH_KV: counted } as Env), reads };
}

function ping(fetch: Fetcher, origin: string, token: string) {
  return mcpPost(fetch, origin, token, "ping");
}

/** A token the Worker has just checked once (so its record is cached), and the instance. */
async function cachedToken(origin = ORIGIN) {
  const instance = countingInstance();
  const token = await obtainAccessToken(origin, PASSWORD, instance.fetch, fromNewAddress());
  expect((await ping(instance.fetch, origin, token)).status).toBe(200);
  return { ...instance, token };
}

describe("the token cache, through the Worker", () => {
  it("serves repeated /mcp requests without reading the token from KV", async () => {
    const { fetch, reads, token } = await cachedToken();
    const before = reads.token;
    for (let i = 0; i < 5; i++) expect((await ping(fetch, ORIGIN, token)).status).toBe(200);
    expect(reads.token - before).toBe(0);
  });

  it(`stops a token revoked elsewhere within ${TOKEN_CACHE_TTL_MS / 1000} s`, async () => {
    const { fetch, token } = await cachedToken();
    const [userId, grantId] = token.split(":");
    // Another isolate revokes: the record leaves KV without this isolate hearing of it.
    const { keys } = await env.OAUTH_KV.list({ prefix: `token:${userId}:${grantId}:` });
    for (const { name } of keys) await env.OAUTH_KV.delete(name);
    // Within the bound the cached record may still be served...
    expect((await ping(fetch, ORIGIN, token)).status).toBe(200);
    // ...and past it the token is refused.
    const now = Date.now();
    vi.spyOn(Date, "now").mockReturnValue(now + TOKEN_CACHE_TTL_MS);
    expect((await ping(fetch, ORIGIN, token)).status).toBe(401);
  });

  it("stops a token revoked in this isolate at once", async () => {
    const { fetch, token } = await cachedToken();
    const [userId, grantId] = token.split(":");
    const { keys } = await env.OAUTH_KV.list({ prefix: `token:${userId}:${grantId}:` });
    // Deleted through a request's store, as the library's own revocation does.
    const store = tokenRecords.store(env.OAUTH_KV, `${ORIGIN}/mcp`);
    for (const { name } of keys) await store.delete(name);
    expect((await ping(fetch, ORIGIN, token)).status).toBe(401);
  });

  it("never serves an expired token from the cache", async () => {
    const { fetch, token } = await cachedToken();
    const record = (await env.OAUTH_KV.list({ prefix: `token:${token.split(":").slice(0, 2).join(":")}:` })).keys[0];
    const stored = (await env.OAUTH_KV.get(record!.name, { type: "json" })) as { expiresAt: number };
    vi.spyOn(Date, "now").mockReturnValue(stored.expiresAt * 1000 + 1000);
    expect((await ping(fetch, ORIGIN, token)).status).toBe(401);
  });

  it("refuses a cached token on another resource", async () => {
    const { fetch, token } = await cachedToken(ORIGIN);
    expect((await ping(fetch, LOCALHOST, token)).status).toBe(401);
    expect((await ping(fetch, "https://other.example.com", token)).status).toBe(401);
    expect((await ping(fetch, ORIGIN, token)).status).toBe(200);
  });
});

describe("kept verdicts, through the Worker", () => {
  /** Counts the library's per-request token work: unwrapping the props key with the token. */
  function countUnwraps() {
    const counted = { unwraps: 0 };
    const unwrap = crypto.subtle.unwrapKey.bind(crypto.subtle);
    vi.spyOn(crypto.subtle, "unwrapKey").mockImplementation((...args: Parameters<SubtleCrypto["unwrapKey"]>) => {
      counted.unwraps++;
      return unwrap(...args);
    });
    return counted;
  }

  it("serves a token the library let through moments ago without checking it again, and answers the same", async () => {
    const { fetch, token } = await cachedToken();
    const counted = countUnwraps();
    for (let i = 0; i < 3; i++) {
      const response = await mcpPost(
        fetch,
        ORIGIN,
        token,
        "tools/call",
        {},
        {
          params: { name: "stop_training", arguments: { job_id: "no-such-job" } },
        },
      );
      expect(response.status).toBe(200);
    }
    expect(counted.unwraps).toBe(0);
    expect(tokenRecords.verdictCount).toBeGreaterThan(0);
  });

  it("sends a browser page's request through the library every time, which adds its CORS headers", async () => {
    const { fetch, token } = await cachedToken();
    const counted = countUnwraps();
    const response = await mcpPost(fetch, ORIGIN, token, "ping", { Origin: ORIGIN });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe(ORIGIN);
    expect(counted.unwraps).toBe(1);
  });

  it("keeps no verdict for a refused token, and refuses it every time", async () => {
    const { fetch, token } = await cachedToken();
    const forged = `${token.slice(0, -4)}AAAA`;
    for (let i = 0; i < 2; i++) expect((await ping(fetch, ORIGIN, forged)).status).toBe(401);
    expect((await ping(fetch, ORIGIN, token)).status).toBe(200);
  });

  it("holds a verdict for the URL it was made at: with the resource pinned, another host is still refused", async () => {
    const pinned = workerOver({ ...env, MCP_RESOURCE: `${ORIGIN}/mcp` } as Env);
    const token = await obtainAccessToken(ORIGIN, PASSWORD, pinned, fromNewAddress());
    expect((await ping(pinned, ORIGIN, token)).status).toBe(200);
    expect((await ping(pinned, ORIGIN, token)).status).toBe(200);
    expect((await ping(pinned, LOCALHOST, token)).status).toBe(401);
  });
});

describe("TokenRecordCache", () => {
  /** A KV with one token record, counting reads. */
  function fakeKv(expiresAt: number) {
    const records = new Map([["token:u:g:h", JSON.stringify({ id: "h", expiresAt })]]);
    const kv = {
      reads: 0,
      async get(key: string) {
        kv.reads++;
        return records.get(key) ?? null;
      },
      async delete(key: string) {
        records.delete(key);
      },
      async put(key: string, value: string) {
        records.set(key, value);
      },
    };
    return kv;
  }
  const asKv = (kv: ReturnType<typeof fakeKv>) => kv as unknown as KVNamespace;

  it("keeps a record for the TTL at most, then reads KV again", async () => {
    let now = 1_000_000;
    const cache = new TokenRecordCache(() => now);
    const kv = fakeKv(now / 1000 + 3600);
    const store = cache.store(asKv(kv), "https://a.example/mcp");
    expect(await store.get("token:u:g:h", { type: "json" })).toMatchObject({ id: "h" });
    now += TOKEN_CACHE_TTL_MS - 1;
    await store.get("token:u:g:h", { type: "json" });
    expect(kv.reads).toBe(1);
    now += 1;
    await store.get("token:u:g:h", { type: "json" });
    expect(kv.reads).toBe(2);
  });

  it("never keeps a record past its token's expiry", async () => {
    let now = 1_000_000;
    const cache = new TokenRecordCache(() => now);
    const kv = fakeKv(now / 1000 + 5);
    const store = cache.store(asKv(kv), "https://a.example/mcp");
    await store.get("token:u:g:h", { type: "json" });
    now += 5_000;
    await store.get("token:u:g:h", { type: "json" });
    expect(kv.reads).toBe(2);
  });

  it("keys by resource: a record read for one resource is not served for another", async () => {
    const cache = new TokenRecordCache(() => 0);
    const kv = fakeKv(3600);
    await cache.store(asKv(kv), "https://a.example/mcp").get("token:u:g:h", { type: "json" });
    await cache.store(asKv(kv), "https://b.example/mcp").get("token:u:g:h", { type: "json" });
    expect(kv.reads).toBe(2);
  });

  it("forgets a record on delete or put, under every resource", async () => {
    const cache = new TokenRecordCache(() => 0);
    const kv = fakeKv(3600);
    const a = cache.store(asKv(kv), "https://a.example/mcp");
    const b = cache.store(asKv(kv), "https://b.example/mcp");
    await a.get("token:u:g:h", { type: "json" });
    await b.get("token:u:g:h", { type: "json" });
    await b.delete("token:u:g:h");
    expect(cache.size).toBe(0);
    expect(await a.get("token:u:g:h", { type: "json" })).toBeNull();
  });

  it("stays bounded, dropping the least recently used", async () => {
    const cache = new TokenRecordCache(() => 0, TOKEN_CACHE_TTL_MS, 2);
    const kv = fakeKv(3600);
    for (const resource of ["r1", "r2", "r1", "r3"])
      await cache.store(asKv(kv), resource).get("token:u:g:h", { type: "json" });
    expect(cache.size).toBe(2);
    const reads = kv.reads;
    await cache.store(asKv(kv), "r1").get("token:u:g:h", { type: "json" });
    expect(kv.reads).toBe(reads);
    await cache.store(asKv(kv), "r2").get("token:u:g:h", { type: "json" });
    expect(kv.reads).toBe(reads + 1);
  });

  it("does not cache unknown tokens or reads of other keys", async () => {
    const cache = new TokenRecordCache(() => 0);
    const kv = fakeKv(3600);
    const store = cache.store(asKv(kv), "r");
    await store.get("token:u:g:nope", { type: "json" });
    await store.get("grant:u:g", { type: "json" });
    expect(cache.size).toBe(0);
  });

  describe("verdicts", () => {
    const request = (token = "u:g:secret", url = "https://a.example/mcp") =>
      new Request(url, { headers: { Authorization: `Bearer ${token}` } });
    const verdict = { props: { userId: "owner" }, auth: { clientId: "c", expiresAt: 3600 } };

    async function keptRecord(cache: TokenRecordCache, resource = "https://a.example/mcp") {
      const kv = fakeKv(3600);
      const store = cache.store(asKv(kv), resource);
      await store.get("token:u:g:h", { type: "json" });
      return store;
    }

    it("keeps one only while the token's record is kept, and hands out copies", async () => {
      let now = 0;
      const cache = new TokenRecordCache(() => now);
      // No record kept: nothing to bind the verdict to.
      cache.rememberVerdict("https://a.example/mcp", request(), "token:u:g:h", verdict);
      expect(cache.verdictFor("https://a.example/mcp", request())).toBeUndefined();
      await keptRecord(cache);
      cache.rememberVerdict("https://a.example/mcp", request(), "token:u:g:h", verdict);
      const copy = cache.verdictFor("https://a.example/mcp", request())!;
      expect(copy).toEqual(verdict);
      (copy.props as { userId: string }).userId = "changed";
      expect(cache.verdictFor("https://a.example/mcp", request())).toEqual(verdict);
      now = TOKEN_CACHE_TTL_MS;
      expect(cache.verdictFor("https://a.example/mcp", request())).toBeUndefined();
    });

    it("holds for its own token, resource and URL only", async () => {
      const cache = new TokenRecordCache(() => 0);
      await keptRecord(cache);
      cache.rememberVerdict("https://a.example/mcp", request(), "token:u:g:h", verdict);
      expect(cache.verdictFor("https://a.example/mcp", request("u:g:other"))).toBeUndefined();
      expect(cache.verdictFor("https://b.example/mcp", request())).toBeUndefined();
      expect(cache.verdictFor("https://a.example/mcp", request(undefined, "https://b.example/mcp"))).toBeUndefined();
      expect(cache.verdictFor("https://a.example/mcp", new Request("https://a.example/mcp"))).toBeUndefined();
      expect(cache.verdictFor("https://a.example/mcp", request())).toEqual(verdict);
    });

    it("drops a verdict with its record: a revocation in this isolate takes effect at once", async () => {
      const cache = new TokenRecordCache(() => 0);
      const store = await keptRecord(cache);
      cache.rememberVerdict("https://a.example/mcp", request(), "token:u:g:h", verdict);
      await store.delete("token:u:g:h");
      expect(cache.verdictCount).toBe(0);
      expect(cache.verdictFor("https://a.example/mcp", request())).toBeUndefined();
    });

    it("stays bounded, dropping the least recently used", async () => {
      const cache = new TokenRecordCache(() => 0, TOKEN_CACHE_TTL_MS, 2);
      await keptRecord(cache);
      for (const token of ["u:g:1", "u:g:2", "u:g:3"])
        cache.rememberVerdict("https://a.example/mcp", request(token), "token:u:g:h", verdict);
      expect(cache.verdictCount).toBe(2);
      expect(cache.verdictFor("https://a.example/mcp", request("u:g:1"))).toBeUndefined();
      expect(cache.verdictFor("https://a.example/mcp", request("u:g:3"))).toEqual(verdict);
    });
  });
});
