import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { diagnose, formatDiagnosis } from "../../../src/toolkit/diagnose";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { callTool } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";
import { json, ScriptedUi } from "./ui-scripted";

/** A transport of a given kind that answers /health with a scripted response or failure. */
function transport(kind: ToolkitTransport["kind"], answer: () => Promise<Response>): ToolkitTransport {
  return {
    kind,
    target: kind === "access" ? "https://toolkit.example.com" : "http://127.0.0.1:9",
    fetch: () => answer(),
  };
}

const healthy = () =>
  Promise.resolve(Response.json({ status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" }));
const withToken = readConfig({
  AI_TOOLKIT_URL: "https://toolkit.example.com",
  CF_ACCESS_CLIENT_ID: "id",
  CF_ACCESS_CLIENT_SECRET: "secret",
});
const direct = readConfig({ AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "9" });

function firstFailure(diagnosis: Awaited<ReturnType<typeof diagnose>>) {
  return diagnosis.hops.find((hop) => !hop.ok);
}

describe("diagnosis, hop by hop", () => {
  it("no binding and no URL: points at the tunnel guide", async () => {
    const d = await diagnose(
      direct,
      transport("direct", () => Promise.reject(new TypeError("connect ECONNREFUSED"))),
    );
    expect(d.ok).toBe(false);
    expect(firstFailure(d)).toMatchObject({ hop: "reach" });
    expect(firstFailure(d)?.fix).toMatch(/No TOOLKIT binding and no AI_TOOLKIT_URL .* tunnel\/README\.md/);
    expect(d.hops[0]).toMatchObject({ hop: "configuration", ok: true });
  });

  it("DNS failure of the tunnel hostname", async () => {
    const d = await diagnose(
      withToken,
      transport("access", () => Promise.reject(new TypeError("getaddrinfo ENOTFOUND toolkit.example.com"))),
    );
    expect(firstFailure(d)).toMatchObject({ hop: "reach" });
    expect(firstFailure(d)?.detail).toMatch(/DNS lookup failed/);
    expect(firstFailure(d)?.fix).toMatch(/does not resolve: add it as a public hostname/);
  });

  it("Access login page instead of the toolkit: the service token is wrong", async () => {
    const page =
      "<!doctype html><title>Sign in ・ Cloudflare Access</title><form " +
      'action="https://team.cloudflareaccess.com/cdn-cgi/access/login">';
    const d = await diagnose(
      withToken,
      transport("access", async () => new Response(page, { headers: { "content-type": "text/html" } })),
    );
    expect(firstFailure(d)).toMatchObject({ hop: "access" });
    expect(firstFailure(d)?.fix).toMatch(/CF_ACCESS_CLIENT_ID \/ CF_ACCESS_CLIENT_SECRET/);
    expect(d.hops.find((h) => h.hop === "reach")?.ok).toBe(true);
  });

  it("Access refusing with 403: the service token is wrong", async () => {
    const d = await diagnose(
      withToken,
      transport("access", async () => new Response("Forbidden", { status: 403 })),
    );
    expect(firstFailure(d)).toMatchObject({ hop: "access" });
  });

  it.each([
    ["530", () => new Response("error code: 1033", { status: 530 })],
    ["1033 page", () => new Response("<title>Cloudflare Tunnel error | error code: 1033</title>", { status: 530 })],
  ])("tunnel not connected (%s)", async (_name, response) => {
    const d = await diagnose(
      withToken,
      transport("access", async () => response()),
    );
    expect(firstFailure(d)).toMatchObject({ hop: "tunnel" });
    expect(firstFailure(d)?.fix).toMatch(/Start cloudflared on the LAN box/);
    expect(d.hops.find((h) => h.hop === "access")?.ok).toBe(true);
  });

  it("toolkit 5xx behind a working tunnel", async () => {
    const d = await diagnose(
      withToken,
      transport("access", async () => new Response("Bad gateway", { status: 502 })),
    );
    expect(firstFailure(d)).toMatchObject({ hop: "toolkit" });
    expect(firstFailure(d)?.fix).toMatch(/Start the AI Toolkit server on the LAN box \(port 8012\)/);
    expect(d.hops.filter((h) => h.ok).map((h) => h.hop)).toEqual(["configuration", "reach", "access", "tunnel"]);
  });

  it("success: version and latency", async () => {
    const d = await diagnose(withToken, transport("access", healthy));
    expect(d.ok).toBe(true);
    expect(d.version).toBe("2.0.0");
    expect(d.hops.every((h) => h.ok)).toBe(true);
    expect(d.hops.map((h) => h.hop)).toEqual(["configuration", "reach", "access", "tunnel", "toolkit"]);
    expect(formatDiagnosis(d)).toMatch(/AI Toolkit MCP Server 2\.0\.0 answered \/health in \d+ ms/);
  });

  it("a tunnel hostname without a service token is a configuration failure", async () => {
    const d = await diagnose(
      readConfig({ AI_TOOLKIT_URL: "https://toolkit.example.com" }),
      transport("access", healthy),
    );
    expect(firstFailure(d)).toMatchObject({ hop: "configuration" });
    expect(firstFailure(d)?.fix).toMatch(/Set both CF_ACCESS_CLIENT_ID and CF_ACCESS_CLIENT_SECRET/);
  });
});

describe("check_connection tool", () => {
  it("returns the hops and the fix as a normal result", async () => {
    const toolkit = new ScriptedToolkit().on("health", {
      response: () => new Response("error code: 1033", { status: 530 }),
    });
    const result = await callTool(toolkit, "check_connection");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent?.ok).toBe(false);
    expect(result.content[0]?.text).toMatch(/FAIL tunnel[\s\S]*fix: Start cloudflared/);
  });

  it("says which API answers and what to set when it is not the configured one", async () => {
    const toolkit = new ScriptedToolkit()
      .on("health", { response: () => new Response("<html>404</html>", { status: 404 }) })
      .on("/api/auth", { response: () => Response.json({ isAuthenticated: true }) });
    const result = await callTool(toolkit, "check_connection", {}, { AI_TOOLKIT_API: "bridge" });
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ ok: false, api: "bridge", answering: "ui", authenticated: true });
    expect(result.content[0]?.text).toMatch(
      /FAIL toolkit: the target answers as ai-toolkit's UI, but AI_TOOLKIT_API is bridge\n {5}fix: Set AI_TOOLKIT_API=ui and AI_TOOLKIT_AUTH/,
    );
  });
});

describe("diagnosis: which API answers", () => {
  const TOKEN = "ui-t0ken-never-in-a-diagnosis";
  const bridge = () =>
    new ScriptedUi().on("GET /health", json({ status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" }));
  /** ai-toolkit's UI started with TOKEN: /api/auth answers only with it, as its middleware does. */
  const ui = () =>
    new ScriptedUi().on("GET /api/auth", (request) =>
      request.headers.get("Authorization") === `Bearer ${TOKEN}`
        ? Response.json({ isAuthenticated: true })
        : Response.json({ error: "Unauthorized" }, { status: 401 }),
    );
  const settings = (more: Record<string, string>) =>
    readConfig({ AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "9", ...more });

  it("bridge configured but the UI answers: says so and what to set", async () => {
    const d = await diagnose(settings({}), ui());
    expect(d).toMatchObject({ ok: false, api: "bridge", answering: "ui", authenticated: false });
    expect(firstFailure(d)).toMatchObject({
      hop: "toolkit",
      detail: "the target answers as ai-toolkit's UI, but AI_TOOLKIT_API is bridge",
      fix: expect.stringMatching(/^Set AI_TOOLKIT_API=ui and AI_TOOLKIT_AUTH/),
    });
    expect(d.hops.filter((hop) => hop.ok).map((hop) => hop.hop)).toEqual(["configuration", "reach"]);
    expect(formatDiagnosis(d)).toMatch(/The toolkit answers, but not the way AI_TOOLKIT_API=bridge expects/);
  });

  it("UI configured but the bridge answers: says so and what to set, without sending the bridge the token", async () => {
    const transport = bridge();
    const d = await diagnose(settings({ AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: TOKEN }), transport);
    expect(d).toMatchObject({ ok: false, api: "ui", answering: "bridge" });
    expect(firstFailure(d)).toMatchObject({
      hop: "toolkit",
      detail: expect.stringMatching(/answers as the original bridge .*, but AI_TOOLKIT_API is ui/),
      fix: expect.stringMatching(/^Set AI_TOOLKIT_API=bridge/),
    });
    expect(transport.calls.every((call) => call.headers.get("Authorization") === null)).toBe(true);
  });

  it("UI with a wrong token: names AI_TOOLKIT_AUTH and never shows the token", async () => {
    const wrong = "not-the-ui-token";
    const d = await diagnose(settings({ AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: wrong }), ui());
    expect(d).toMatchObject({ ok: false, api: "ui", answering: "ui", authenticated: false });
    expect(firstFailure(d)?.hop).toBe("toolkit");
    expect(firstFailure(d)?.detail).toMatch(/the token in AI_TOOLKIT_AUTH is wrong/);
    expect(firstFailure(d)?.fix).toMatch(/Set AI_TOOLKIT_AUTH to exactly the token ai-toolkit's UI was started with/);
    expect(JSON.stringify(d) + formatDiagnosis(d)).not.toMatch(new RegExp(`${wrong}|${TOKEN}`));

    const none = await diagnose(settings({ AI_TOOLKIT_API: "ui" }), ui());
    expect(firstFailure(none)?.detail).toMatch(/requires a token .* Set AI_TOOLKIT_AUTH/);
  });

  it("UI fine: every hop passes and it says the UI answers", async () => {
    const d = await diagnose(settings({ AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: TOKEN }), ui());
    expect(d).toMatchObject({ ok: true, api: "ui", answering: "ui", authenticated: true });
    expect(d.hops.every((hop) => hop.ok)).toBe(true);
    expect(d.hops.at(-1)?.detail).toMatch(/^ai-toolkit's UI answered \/api\/auth in \d+ ms and accepted the token/);
    expect(formatDiagnosis(d)).toMatch(/The toolkit is reachable \(\d+ ms\): ai-toolkit's UI answers\./);
    expect(JSON.stringify(d)).not.toContain(TOKEN);
  });

  it("bridge fine: says the bridge answers, as configured", async () => {
    const d = await diagnose(settings({}), bridge());
    expect(d).toMatchObject({ ok: true, api: "bridge", answering: "bridge", version: "2.0.0" });
    expect(d.hops.at(-1)?.detail).toMatch(/the original bridge, as AI_TOOLKIT_API says/);
  });

  it("neither API: names both and where to point", async () => {
    const d = await diagnose(settings({ AI_TOOLKIT_API: "ui" }), new ScriptedUi());
    expect(d).toMatchObject({ ok: false, answering: "neither" });
    expect(firstFailure(d)?.detail).toMatch(/neither as the original bridge .* nor as ai-toolkit's UI/);
    expect(firstFailure(d)?.fix).toMatch(/Something other than the AI Toolkit server .* answers there/);
  });

  it("a UI that is down behind the tunnel: the fix says how to start the UI", async () => {
    const down = new ScriptedUi().on("GET /health", () => new Response("Bad gateway", { status: 502 }));
    const d = await diagnose(settings({ AI_TOOLKIT_API: "ui" }), down);
    expect(firstFailure(d)?.fix).toMatch(/Start ai-toolkit's UI \(cd ui && npm run build_and_start\)/);
  });
});
