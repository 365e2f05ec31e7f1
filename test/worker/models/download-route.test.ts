import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { downloadLink, sign, signedUrl, signingKey, verify } from "../../../src/models/links";
import { parseRange } from "../../../src/models/route";
import { bytesOf } from "./support";

const config = readConfig(env);
const file = bytesOf(10_000, 5);

/** Puts a staged file straight into R2 and returns a signed link to it. */
async function staged(name: string, options: { expiresAt?: number; ttl?: number } = {}) {
  const key = `models/${name}/test/${name}.safetensors`;
  const expiresAt = new Date(options.expiresAt ?? Date.now() + 3_600_000).toISOString();
  await env.STAGING.put(key, file, { customMetadata: { name, filename: `${name}.safetensors`, expiresAt } });
  const link = await downloadLink(
    { ...config, DOWNLOAD_LINK_TTL_SECONDS: options.ttl ?? 600 },
    env,
    "https://example.com",
    { key, expiresAt },
    Date.now(),
  );
  return { key, url: link.url, link };
}

describe("signed download links", () => {
  it("serve the whole file with its length, name, ETag and range support", async () => {
    const { url } = await staged("whole");
    const response = await SELF.fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe(String(file.length));
    expect(response.headers.get("Content-Disposition")).toMatch(/^attachment; filename="whole\.safetensors"/);
    expect(response.headers.get("Accept-Ranges")).toBe("bytes");
    expect(response.headers.get("ETag")).toMatch(/^".+"$/);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(file);
  });

  it("answer HEAD with the headers and no body", async () => {
    const { url } = await staged("head");
    const response = await SELF.fetch(url, { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Length")).toBe(String(file.length));
    expect((await response.arrayBuffer()).byteLength).toBe(0);
  });

  it.each([
    ["bytes=100-199", 100, 199],
    ["bytes=9000-", 9000, 9999],
    ["bytes=-500", 9500, 9999],
    ["bytes=9990-20000", 9990, 9999],
  ])("serve %s as 206 with the right bytes", async (range, start, end) => {
    const { url } = await staged(`range${start}`);
    const response = await SELF.fetch(url, { headers: { Range: range } });
    expect(response.status).toBe(206);
    expect(response.headers.get("Content-Range")).toBe(`bytes ${start}-${end}/${file.length}`);
    expect(response.headers.get("Content-Length")).toBe(String(end - start + 1));
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(file.slice(start, end + 1));
  });

  it("answer 416 for a range past the end", async () => {
    const { url } = await staged("past");
    const response = await SELF.fetch(url, { headers: { Range: "bytes=10000-" } });
    expect(response.status).toBe(416);
    expect(response.headers.get("Content-Range")).toBe(`bytes */${file.length}`);
    await response.arrayBuffer();
  });

  it("ignore the range when If-Range names another version", async () => {
    const { url } = await staged("ifrange");
    const response = await SELF.fetch(url, { headers: { Range: "bytes=0-9", "If-Range": '"other"' } });
    expect(response.status).toBe(200);
    expect((await response.arrayBuffer()).byteLength).toBe(file.length);
  });

  it("refuse an altered, foreign or expired link with 403 and say what to do", async () => {
    const { url, key } = await staged("refused");
    const altered = url.replace(/sig=([0-9a-f])/, (_m, c: string) => `sig=${c === "0" ? "1" : "0"}`);
    const otherKey = url.replace("refused.safetensors", "other.safetensors");
    const past = Math.floor(Date.now() / 1000) - 10;
    const expired = await signedUrl("https://example.com", await signingKey(config, env), key, past);
    const unsigned = url.split("?")[0] ?? url;
    for (const bad of [altered, otherKey, expired, unsigned]) {
      const response = await SELF.fetch(bad);
      expect(response.status, bad).toBe(403);
      expect(await response.text()).toMatch(/download_model again/);
    }
  });

  it("check a signature in either case of hex, and refuse one that is not 32 bytes of hex", async () => {
    const key = await signingKey({ DOWNLOAD_SIGNING_KEY: "k" }, env);
    const sig = await sign(key, "models/a", 1);
    expect(await verify(key, "models/a", 1, sig)).toBe(true);
    expect(await verify(key, "models/a", 1, sig.toUpperCase())).toBe(true);
    expect(await verify(key, "models/a", 2, sig)).toBe(false);
    for (const bad of ["", sig.slice(0, 62), `${sig}00`, `${sig.slice(0, 63)}g`, `${sig.slice(0, 63)}`]) {
      expect(await verify(key, "models/a", 1, bad), bad).toBe(false);
    }
  });

  it("say the model is gone once the staged copy expired, and delete it", async () => {
    const { key } = await staged("gone", { expiresAt: Date.now() - 1_000 });
    // A link made before the copy expired (links never outlive it, so sign one by hand).
    const url = await signedUrl(
      "https://example.com",
      await signingKey(config, env),
      key,
      Math.floor(Date.now() / 1000) + 600,
    );
    const response = await SELF.fetch(url);
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/expired/);
    expect(await env.STAGING.head(key)).toBeNull();
  });

  it("never outlive the staged copy", async () => {
    const expiresAt = Date.now() + 60_000;
    const { link } = await staged("short", { expiresAt, ttl: 3600 });
    expect(Date.parse(link.expiresAt)).toBeLessThanOrEqual(expiresAt);
  });

  it("use DOWNLOAD_SIGNING_KEY when set, else one random key kept by the Worker, never the password", async () => {
    const kept = await sign(await signingKey({}, env), "models/a", 1);
    expect(kept).toMatch(/^[0-9a-f]{64}$/);
    // The same key for every caller, until DOWNLOAD_SIGNING_KEY replaces it.
    expect(await sign(await signingKey({}, env), "models/a", 1)).toBe(kept);
    expect(await sign(await signingKey({ DOWNLOAD_SIGNING_KEY: "k" }, env), "models/a", 1)).not.toBe(kept);
    // Not derived from the owner password: a link reveals nothing to test guesses against.
    for (const guess of [env.OWNER_PASSWORD, "test-owner-password"]) {
      const fromPassword = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode(guess),
        { name: "HMAC", hash: "SHA-256" },
        false,
        ["sign"],
      );
      expect(await sign(fromPassword, "models/a", 1)).not.toBe(kept);
    }
  });
});

describe("parseRange", () => {
  it("reads the three single-range forms and ignores what it cannot serve", () => {
    expect(parseRange(undefined, 10)).toBeUndefined();
    expect(parseRange("bytes=2-4", 10)).toEqual({ start: 2, end: 4 });
    expect(parseRange("bytes=7-", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=-3", 10)).toEqual({ start: 7, end: 9 });
    expect(parseRange("bytes=-30", 10)).toEqual({ start: 0, end: 9 });
    expect(parseRange("bytes=0-1,4-5", 10)).toBeUndefined();
    expect(parseRange("items=0-1", 10)).toBeUndefined();
    expect(parseRange("bytes=5-2", 10)).toBeUndefined();
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=-0", 10)).toBe("unsatisfiable");
  });
});
