import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { workerOver } from "./helpers/instance";

const TOKEN = "ui-t0ken-never-on-health";

/** A VPC binding to a toolkit that answers as `kind`: the UI takes only TOKEN, as its middleware does. */
function binding(kind: "bridge" | "ui"): Fetcher {
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (kind === "bridge" && path === "/health")
      return Response.json({ status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" });
    if (kind === "ui" && path === "/api/auth")
      return request.headers.get("Authorization") === `Bearer ${TOKEN}`
        ? Response.json({ isAuthenticated: true })
        : Response.json({ error: "Unauthorized" }, { status: 401 });
    return new Response("<html>404</html>", { status: 404, headers: { "content-type": "text/html" } });
  };
  return { fetch } as unknown as Fetcher;
}

async function health(kind: "bridge" | "ui", settings: Record<string, string>) {
  const fetch = workerOver({ ...env, TOOLKIT: binding(kind), ...settings } as Env);
  const response = await fetch("http://127.0.0.1:8787/health");
  const text = await response.text();
  expect(text).not.toContain(TOKEN);
  return { status: response.status, toolkit: (JSON.parse(text) as { toolkit: Record<string, unknown> }).toolkit };
}

describe("/health says which API answers", () => {
  it("the bridge, as configured", async () => {
    const { status, toolkit } = await health("bridge", {});
    expect(status).toBe(200);
    expect(toolkit).toMatchObject({ reachable: true, api: "bridge", answering: "bridge", version: "2.0.0" });
    expect(toolkit).not.toHaveProperty("authenticated");
  });

  it("the UI, authenticated", async () => {
    const { status, toolkit } = await health("ui", { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: TOKEN });
    expect(status).toBe(200);
    expect(toolkit).toMatchObject({ reachable: true, api: "ui", answering: "ui", authenticated: true });
  });

  it("the UI refusing the token: degraded at the toolkit hop", async () => {
    const { status, toolkit } = await health("ui", { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: "wrong" });
    expect(status).toBe(503);
    expect(toolkit).toMatchObject({ reachable: false, answering: "ui", authenticated: false, failed_hop: "toolkit" });
  });

  it("the UI while the Worker is set for the bridge, and the other way round", async () => {
    expect((await health("ui", {})).toolkit).toMatchObject({ api: "bridge", answering: "ui", failed_hop: "toolkit" });
    expect((await health("bridge", { AI_TOOLKIT_API: "ui", AI_TOOLKIT_AUTH: TOKEN })).toolkit).toMatchObject({
      api: "ui",
      answering: "bridge",
      failed_hop: "toolkit",
    });
  });
});
