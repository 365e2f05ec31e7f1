import { describe, expect, it } from "vitest";
import { identifyUpstream } from "../../../src/toolkit/ui/identify";
import { json, ScriptedUi } from "./ui-scripted";

const TOKEN = "ui-t0ken-do-not-leak";
/** `token` "": the Worker has none. */
const identify = (ui: ScriptedUi, token = TOKEN) => identifyUpstream(ui, { token, timeoutMs: 1000 });
const nextJs404 = () =>
  new Response("<html>404</html>", {
    status: 404,
    headers: { "content-type": "text/html", "x-powered-by": "Next.js" },
  });

describe("identifyUpstream", () => {
  it("recognises the original bridge by /health, without sending it the token", async () => {
    const ui = new ScriptedUi().on(
      "GET /health",
      json({ status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" }),
    );
    await expect(identify(ui)).resolves.toMatchObject({ kind: "bridge", version: "2.0.0" });
    expect(ui.calls).toHaveLength(1);
    expect(ui.calls[0]?.headers.get("Authorization")).toBeNull();
  });

  it("recognises the UI that accepts the token", async () => {
    const ui = new ScriptedUi().on("GET /health", nextJs404).on("GET /api/auth", json({ isAuthenticated: true }));
    await expect(identify(ui)).resolves.toMatchObject({ kind: "ui", authenticated: true });
    expect(ui.callsTo("GET /api/auth")[0]?.headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
  });

  it("recognises the UI that refuses the token, and says what to set without echoing it", async () => {
    const ui = new ScriptedUi().on("GET /health", nextJs404).on("GET /api/auth", json({ error: "Unauthorized" }, 401));
    const identity = await identify(ui);
    expect(identity).toMatchObject({
      kind: "ui",
      authenticated: false,
      detail: expect.stringMatching(/the token in AI_TOOLKIT_AUTH is wrong/),
    });
    expect(JSON.stringify(identity)).not.toContain(TOKEN);
    const untokened = await identify(ui, "");
    expect(untokened).toMatchObject({
      kind: "ui",
      authenticated: false,
      detail: expect.stringMatching(/Set AI_TOOLKIT_AUTH to the token the UI was started with/),
    });
  });

  it("says when something else answers", async () => {
    const ui = new ScriptedUi();
    const identity = await identify(ui);
    expect(identity).toMatchObject({
      kind: "neither",
      detail: expect.stringMatching(/neither as the original bridge .* nor as ai-toolkit's UI/),
    });
    expect(JSON.stringify(identity)).not.toContain(TOKEN);
  });

  it("hints at an old UI when Next.js answers but /api/auth does not", async () => {
    const ui = new ScriptedUi().on("GET /health", nextJs404);
    await expect(identify(ui)).resolves.toMatchObject({
      kind: "neither",
      detail: expect.stringMatching(/a Next\.js app answers there/),
    });
  });

  it.each([
    [new TypeError("connection refused"), "reach"],
    [() => new Response("error code: 1033", { status: 530 }), "tunnel"],
    [() => new Response("<html>Forbidden</html>", { status: 403 }), "access"],
    [() => new Response('<a href="https://x.cloudflareaccess.com/cdn-cgi/access/login">Sign in</a>'), "access"],
  ] as const)("names the hop that failed (%#)", async (answer, hop) => {
    const identity = await identify(new ScriptedUi().on("GET /health", answer));
    expect(identity.kind).toBe("unreachable");
    if (identity.kind === "unreachable") expect(identity.failure.hop).toBe(hop);
  });
});
