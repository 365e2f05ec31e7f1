import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, startStack, type Stack } from "./harness";

/**
 * check_connection and /health through wrangler dev against the local stand-in of ai-toolkit's
 * UI: they say the UI answers and took the token, or that AI_TOOLKIT_AUTH is wrong. The token
 * never shows in either answer.
 */
interface Health {
  status: string;
  toolkit: { reachable: boolean; api: string; answering: string | null; authenticated?: boolean; failed_hop?: string };
}

async function health(stack: Stack): Promise<{ status: number; body: Health; text: string }> {
  const response = await fetch(`${stack.workerUrl}/health`);
  const text = await response.text();
  return { status: response.status, body: JSON.parse(text) as Health, text };
}

describe("the Worker against ai-toolkit's UI, with its token", () => {
  let stack: Stack;
  let client: Client;
  beforeAll(async () => {
    stack = await startStack({ toolkit: "ui", ui: { tickMs: 0 } });
    client = await stack.connect();
  });
  afterAll(() => stack?.stop());

  it("check_connection says the UI answers and accepted the token", async () => {
    const result = await callTool(client, "check_connection");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      ok: true,
      transport: "direct",
      api: "ui",
      answering: "ui",
      authenticated: true,
    });
    const text = result.content[0]?.text ?? "";
    expect(text).toMatch(/ok {3}toolkit: ai-toolkit's UI answered \/api\/auth in \d+ ms and accepted the token/);
    expect(text).toMatch(/The toolkit is reachable \(\d+ ms\): ai-toolkit's UI answers\./);
    expect(JSON.stringify(result)).not.toContain(stack.ui?.token);
  });

  it("/health says the UI answers and is authenticated", async () => {
    const { status, body, text } = await health(stack);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: "ok",
      toolkit: { reachable: true, api: "ui", answering: "ui", authenticated: true },
    });
    expect(text).not.toContain(stack.ui?.token);
  });

  it("exposes the UI stand-in to tests", async () => {
    expect(stack.toolkit).toBe("ui");
    expect(stack.ui?.url).toBe(stack.toolkitUrl);
    expect(stack.ui?.dataDir).toBe(stack.dataDir);
    await stack.ui?.tick();
    const auth = await fetch(`${stack.toolkitUrl}/api/auth`, {
      headers: { Authorization: `Bearer ${stack.ui?.token}` },
    });
    expect(await auth.json()).toEqual({ isAuthenticated: true });
  });
});

describe("the Worker against ai-toolkit's UI, with a wrong token", () => {
  const WRONG = "not-the-token-the-ui-was-started-with";
  let stack: Stack;
  let client: Client;
  beforeAll(async () => {
    stack = await startStack({ toolkit: "ui", ui: { tickMs: 0 }, workerVars: { AI_TOOLKIT_AUTH: WRONG } });
    client = await stack.connect();
  });
  afterAll(() => stack?.stop());

  it("check_connection says AI_TOOLKIT_AUTH is wrong and what to set", async () => {
    const result = await callTool(client, "check_connection");
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ ok: false, api: "ui", answering: "ui", authenticated: false });
    const text = result.content[0]?.text ?? "";
    expect(text).toMatch(/FAIL toolkit: .*refused the token in AI_TOOLKIT_AUTH.*the token in AI_TOOLKIT_AUTH is wrong/);
    expect(text).toMatch(/fix: Set AI_TOOLKIT_AUTH to exactly the token ai-toolkit's UI was started with/);
    const everything = JSON.stringify(result);
    expect(everything).not.toContain(WRONG);
    expect(everything).not.toContain(stack.ui?.token);
  });

  it("/health says the UI answers but refused the token", async () => {
    const { status, body, text } = await health(stack);
    expect(status).toBe(503);
    expect(body).toMatchObject({
      status: "degraded",
      toolkit: { reachable: false, api: "ui", answering: "ui", authenticated: false, failed_hop: "toolkit" },
    });
    expect(text).not.toContain(WRONG);
  });
});
