import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { clientAddress, REGISTRATION, WINDOW_MS } from "../../src/auth/attempts";
import { REGISTRATION_LIMITS } from "../../src/auth/register";
import { registerClient, submitConsent, type Fetcher } from "../shared/oauth-flow";

const fetchSelf: Fetcher = (input, init) => SELF.fetch(input, init);

const ORIGIN = "http://127.0.0.1:8787";
let address = 0;
/** A fresh client address per test, so the per-address limit does not carry over. */
const newAddress = () => `198.51.100.${++address}`;

function register(metadata: Record<string, unknown>, ip: string, headers: Record<string, string> = {}) {
  return SELF.fetch(`${ORIGIN}/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip, ...headers },
    body: JSON.stringify(metadata),
  });
}

const valid = (extra: Record<string, unknown> = {}) => ({
  client_name: "Inspector",
  redirect_uris: ["http://127.0.0.1:6274/oauth/callback"],
  token_endpoint_auth_method: "none",
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  ...extra,
});

async function expectOAuthError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toContain("application/json");
  const body = (await response.json()) as { error: string; error_description: string };
  expect(body.error).toBe(error);
  expect(body.error_description.length).toBeGreaterThan(10);
  return body;
}

describe("registration size limits", () => {
  it("accepts an ordinary registration", async () => {
    const response = await register(valid(), newAddress());
    expect(response.status).toBe(201);
    expect(((await response.json()) as { client_name: string }).client_name).toBe("Inspector");
  });

  it("refuses a 1 MB client_name before parsing it", async () => {
    const body = await expectOAuthError(
      await register(valid({ client_name: "x".repeat(1024 * 1024) }), newAddress()),
      413,
      "invalid_request",
    );
    expect(body.error_description).toContain(String(REGISTRATION_LIMITS.bodyBytes));
  });

  it("refuses a body over the limit even when it does not declare its length", async () => {
    const big = JSON.stringify(valid({ client_name: "x".repeat(REGISTRATION_LIMITS.bodyBytes) }));
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const response = await SELF.fetch(`${ORIGIN}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": newAddress() },
      body: stream,
    });
    await expectOAuthError(response, 413, "invalid_request");
  });

  it("bounds the client name, shown on the sign-in page, in every language", async () => {
    const long = "n".repeat(REGISTRATION_LIMITS.nameChars + 1);
    await expectOAuthError(await register(valid({ client_name: long }), newAddress()), 400, "invalid_client_metadata");
    await expectOAuthError(
      await register(valid({ "client_name#fr": long }), newAddress()),
      400,
      "invalid_client_metadata",
    );
    expect(
      (await register(valid({ client_name: "n".repeat(REGISTRATION_LIMITS.nameChars) }), newAddress())).status,
    ).toBe(201);
  });

  it("bounds the number and length of redirect URIs", async () => {
    const many = Array.from(
      { length: REGISTRATION_LIMITS.redirectUris + 1 },
      (_, i) => `http://127.0.0.1:${6000 + i}/callback`,
    );
    await expectOAuthError(await register(valid({ redirect_uris: many }), newAddress()), 400, "invalid_redirect_uri");
    const long = `https://app.example.com/${"a".repeat(REGISTRATION_LIMITS.stringChars)}`;
    await expectOAuthError(await register(valid({ redirect_uris: [long] }), newAddress()), 400, "invalid_redirect_uri");
    expect(
      (await register(valid({ redirect_uris: many.slice(0, REGISTRATION_LIMITS.redirectUris) }), newAddress())).status,
    ).toBe(201);
  });

  it("bounds the other metadata: URIs, lists, the number of fields", async () => {
    const longUri = `https://app.example.com/${"a".repeat(REGISTRATION_LIMITS.stringChars)}`;
    for (const extra of [
      { logo_uri: longUri },
      { client_uri: longUri },
      { "policy_uri#de": longUri },
      { contacts: Array.from({ length: REGISTRATION_LIMITS.listItems + 1 }, (_, i) => `a${i}@example.com`) },
      { contacts: [`${"a".repeat(REGISTRATION_LIMITS.stringChars)}@example.com`] },
      { software_id: "s".repeat(REGISTRATION_LIMITS.stringChars + 1) },
      Object.fromEntries(Array.from({ length: REGISTRATION_LIMITS.fields }, (_, i) => [`x_${i}`, 1])),
    ]) {
      await expectOAuthError(await register(valid(extra), newAddress()), 400, "invalid_client_metadata");
    }
  });

  it("leaves other mistakes to the OAuth library's own answers", async () => {
    const response = await SELF.fetch(`${ORIGIN}/register`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": newAddress() },
      body: "{not json",
    });
    await expectOAuthError(response, 400, "invalid_request");
    expect((await SELF.fetch(`${ORIGIN}/register`, { headers: { "CF-Connecting-IP": newAddress() } })).status).toBe(
      405,
    );
  });
});

describe("registration rate limit", () => {
  it(
    `allows ${REGISTRATION.max} registrations per address in ${WINDOW_MS / 60_000} minutes, then answers 429 ` +
      `with Retry-After`,
    async () => {
      const ip = newAddress();
      for (let i = 0; i < REGISTRATION.max; i++) expect((await register(valid(), ip)).status).toBe(201);
      const refused = await register(valid(), ip, { Origin: "https://app.example.com" });
      const body = await expectOAuthError(refused, 429, "temporarily_unavailable");
      expect(body.error_description).toMatch(/Too many client registrations/);
      const retryAfter = Number(refused.headers.get("Retry-After"));
      expect(retryAfter).toBeGreaterThan(WINDOW_MS / 1000 - 60);
      expect(retryAfter).toBeLessThanOrEqual(WINDOW_MS / 1000);
      // A browser-based client can read the answer and its Retry-After.
      expect(refused.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
      expect(refused.headers.get("Access-Control-Expose-Headers")).toContain("Retry-After");
      // Another address is not affected.
      expect((await register(valid(), newAddress())).status).toBe(201);
    },
  );

  it("counts parallel registrations: no more than the limit get through", async () => {
    const ip = newAddress();
    const statuses = (await Promise.all(Array.from({ length: REGISTRATION.max + 8 }, () => register(valid(), ip)))).map(
      (r) => r.status,
    );
    expect(
      statuses.filter((s) => s === 201),
      String(statuses),
    ).toHaveLength(REGISTRATION.max);
    expect(statuses.filter((s) => s === 429)).toHaveLength(8);
  });

  it("counts refused and malformed registrations too", async () => {
    const ip = newAddress();
    for (let i = 0; i < REGISTRATION.max; i++)
      await register(valid({ client_name: "x".repeat(REGISTRATION_LIMITS.nameChars + 1) }), ip);
    expect((await register(valid(), ip)).status).toBe(429);
  });

  it("counts an IPv6 client by its /64, so rotating addresses does not reset the count", async () => {
    const prefix = `2001:db8:${(++address).toString(16)}:1`;
    for (let i = 0; i < REGISTRATION.max; i++)
      expect((await register(valid(), `${prefix}::${(i + 1).toString(16)}`)).status).toBe(201);
    expect((await register(valid(), `${prefix}:0:0:0:ffff`)).status).toBe(429);
  });

  it("keeps sign-in attempts and registrations apart", async () => {
    const ip = newAddress();
    const client = await registerClient(ORIGIN, "test", fetchSelf, { "CF-Connecting-IP": newAddress() });
    for (let i = 0; i < REGISTRATION.max; i++) await register(valid(), ip);
    expect((await register(valid(), ip)).status).toBe(429);
    const signIn = await submitConsent(
      ORIGIN,
      client,
      env.OWNER_PASSWORD,
      "approve",
      { "CF-Connecting-IP": ip },
      fetchSelf,
    );
    expect(signIn.response.status).toBe(302);
  });
});

describe("client address", () => {
  const of = (ip?: string) =>
    clientAddress(new Request("https://x.example/", { headers: ip ? { "CF-Connecting-IP": ip } : {} }));

  it("keeps IPv4 addresses and folds IPv6 ones to their /64", () => {
    expect(of("203.0.113.7")).toBe("203.0.113.7");
    expect(of("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
    expect(of("2001:0db8:0001:0002::9")).toBe("2001:db8:1:2::/64");
    expect(of("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(of("::1")).toBe("0:0:0:0::/64");
    expect(of("2001:DB8:1:2::")).toBe("2001:db8:1:2::/64");
    expect(of("::ffff:203.0.113.9")).toBe("203.0.113.9");
    expect(of()).toBe("unknown");
  });
});
