import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { diagnose, formatDiagnosis } from "../../../src/toolkit/diagnose";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { callTool } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";

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
});
