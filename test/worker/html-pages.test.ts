import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { workerOver } from "./helpers/instance";
import { MAX_FAILURES } from "../../src/auth/attempts";
import { withFrameGuard } from "../../src/auth/frame-guard";
import { authorizeUrl, pkce, registerClient, submitConsent, type Fetcher } from "../shared/oauth-flow";
import { newSession } from "./uploads/support";

const ORIGIN = "http://127.0.0.1:8787";
const fetchSelf: Fetcher = (input, init) => SELF.fetch(input, init);
let address = 0;
const fromNewAddress = () => ({ "CF-Connecting-IP": `192.0.2.${100 + ++address}` });

/** No other site may frame the page: both the old header and the CSP directive. */
async function expectUnframeable(response: Response, label: string) {
  expect(response.headers.get("Content-Type"), label).toMatch(/text\/html/);
  expect(response.headers.get("X-Frame-Options"), label).toBe("DENY");
  expect(response.headers.get("Content-Security-Policy"), label).toMatch(/(^|;\s*)frame-ancestors 'none'(;|$)/);
  await response.body?.cancel();
}

describe("every HTML page refuses to be framed", () => {
  it("the consent page, and the page after a wrong password", async () => {
    const client = await registerClient(ORIGIN, "framing check", fetchSelf, fromNewAddress());
    const { challenge } = await pkce();
    const page = await SELF.fetch(authorizeUrl(ORIGIN, client, challenge));
    expect(page.status).toBe(200);
    // Its own stricter policy is kept.
    expect(page.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    await expectUnframeable(page, "consent page");
    const wrong = await submitConsent(ORIGIN, client, "wrong", "approve", fromNewAddress(), fetchSelf);
    expect(wrong.response.status).toBe(401);
    await expectUnframeable(wrong.response, "wrong password page");
  });

  it("the lock-out page", async () => {
    const client = await registerClient(ORIGIN, "framing check", fetchSelf, fromNewAddress());
    const headers = fromNewAddress();
    let last: Response | undefined;
    for (let i = 0; i <= MAX_FAILURES; i++)
      last = (await submitConsent(ORIGIN, client, `wrong-${i}`, "approve", headers, fetchSelf)).response;
    expect(last?.status).toBe(429);
    await expectUnframeable(last!, "lock-out page");
  });

  it("the page for a sign-in link that cannot be used", async () => {
    const page = await SELF.fetch(
      `${ORIGIN}/authorize?response_type=code&client_id=nobody&redirect_uri=http://127.0.0.1:9/cb` +
        `&code_challenge=x&code_challenge_method=S256`,
    );
    expect(page.status).toBe(400);
    await expectUnframeable(page, "unusable link page");
  });

  it("the page saying sign-in is not set up", async () => {
    const page = await workerOver({ ...env, OWNER_PASSWORD: "" } as Env)(`${ORIGIN}/authorize`);
    expect(page.status).toBe(503);
    await expectUnframeable(page, "not set up page");
  });

  it("the upload page", async () => {
    const { base } = await newSession("framing");
    const page = await SELF.fetch(`${base}/page`);
    expect(page.status).toBe(200);
    expect(await page.clone().text()).toContain("Dataset <code>framing</code>");
    await expectUnframeable(page, "upload page");
  });
});

describe("the frame guard", () => {
  it("adds frame-ancestors to a page's own policy, replacing any weaker one", () => {
    const own = withFrameGuard(
      new Response("<p>", {
        headers: { "Content-Type": "text/html", "Content-Security-Policy": "default-src 'self'; frame-ancestors *" },
      }),
    );
    expect(own.headers.get("Content-Security-Policy")).toBe("default-src 'self'; frame-ancestors 'none'");
    const none = withFrameGuard(new Response("<p>", { headers: { "Content-Type": "text/html; charset=utf-8" } }));
    expect(none.headers.get("Content-Security-Policy")).toBe("frame-ancestors 'none'");
    expect(none.headers.get("X-Frame-Options")).toBe("DENY");
  });

  it("leaves responses that are not HTML as they are", () => {
    const json = withFrameGuard(Response.json({ ok: true }));
    expect(json.headers.get("X-Frame-Options")).toBeNull();
    expect(json.headers.get("Content-Security-Policy")).toBeNull();
  });
});
