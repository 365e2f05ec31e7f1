import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../../src/config";
import { ToolkitClient, toolkitClient } from "../../../src/toolkit/bridge/client";
import { ToolkitError } from "../../../src/toolkit/errors";
import { selectTransport, type ToolkitBinding, type ToolkitTransport } from "../../../src/toolkit/transport";
import { callTool } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";

async function failureOf(promise: Promise<unknown>): Promise<ToolkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolkitError);
  return error as ToolkitError;
}

describe("the envelope", () => {
  it("returns the result of a successful run", async () => {
    const client = new ToolkitClient(new ScriptedToolkit().on("list_configs", { result: { configs: ["x"] } }), 1000);
    await expect(client.run("list_configs")).resolves.toEqual({ configs: ["x"] });
  });

  it.each([
    [{ success: false, result: null, error: "Unknown tool: nope" }, /Unknown tool: nope/],
    [{ success: false, result: null, error: "" }, /gave no reason/],
    [{ success: true, result: { error: "Configuration not found" }, error: null }, /Configuration not found/],
    [{ success: true, result: { status: "error", message: "Job not found" }, error: null }, /Job not found/],
  ])("reports %j as a tool failure", async (envelope, message) => {
    const client = new ToolkitClient(new ScriptedToolkit().on("get_config", { envelope }), 1000);
    const error = await failureOf(client.run("get_config", { name: "x" }));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(message);
  });

  it.each([
    [
      () => new Response("<html>Bad gateway</html>", { headers: { "content-type": "text/html" } }),
      "protocol",
      /not JSON \(text\/html/,
    ],
    [() => Response.json({ hello: "world" }), "protocol", /not its \{success, result, error\} envelope/],
    [
      () => Response.json({ success: true, result: { configs: "nope" }, error: null }),
      "protocol",
      /unexpected shape \(configs:/,
    ],
    [
      () => new Response('<a href="https://x.cloudflareaccess.com/cdn-cgi/access/login">Sign in</a>'),
      "protocol",
      /Cloudflare Access answered list_configs with its login page/,
    ],
    [() => new Response("error code: 1033", { status: 530 }), "unreachable", /cloudflared is not connected/],
    [() => new Response("", { status: 502 }), "unreachable", /toolkit behind it did not answer \(HTTP 502\)/],
    [() => Response.json({ detail: [{ msg: "invalid json" }] }, { status: 422 }), "http", /malformed \(HTTP 422\)/],
    [() => new Response("forbidden", { status: 403 }), "http", /check CF_ACCESS_CLIENT_ID/],
    [() => new Response("oops", { status: 500 }), "http", /failed list_configs with HTTP 500: oops/],
  ] as const)("maps a bad answer to a clear error (%#)", async (response, kind, message) => {
    const client = new ToolkitClient(new ScriptedToolkit().on("list_configs", { response }), 1000);
    const error = await failureOf(client.run("list_configs"));
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
  });
});

describe("transport failures and retries", () => {
  it("names the target and the tunnel guide when the toolkit cannot be reached", async () => {
    const toolkit = new ScriptedToolkit().on("list_configs", { throws: new TypeError("connection refused") });
    const error = await failureOf(new ToolkitClient(toolkit, 1000).run("list_configs"));
    expect(error.kind).toBe("unreachable");
    expect(error.message).toBe(
      "the toolkit at http://127.0.0.1:9 could not be reached (connection refused): is the tunnel running? " +
        "see tunnel/README.md",
    );
  });

  it("retries a read once after a dropped connection", async () => {
    const toolkit = new ScriptedToolkit().on(
      "list_configs",
      { throws: new TypeError("connection reset") },
      { result: { configs: ["back"] } },
    );
    await expect(new ToolkitClient(toolkit, 1000).run("list_configs")).resolves.toEqual({ configs: ["back"] });
    expect(toolkit.callsTo("list_configs")).toHaveLength(2);
  });

  it("never retries a call that changes state", async () => {
    const toolkit = new ScriptedToolkit().on(
      "start_training",
      { throws: new TypeError("connection reset") },
      { result: { status: "success", job_id: "j2" } },
    );
    const error = await failureOf(new ToolkitClient(toolkit, 1000).run("start_training", { config_name: "c" }));
    expect(error.kind).toBe("unreachable");
    expect(toolkit.callsTo("start_training")).toHaveLength(1);
  });

  it("times out with a message that says how long it waited", async () => {
    const slow = {
      kind: "direct" as const,
      target: "http://127.0.0.1:9",
      fetch: (_path: string, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) =>
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
        ),
    };
    const error = await failureOf(new ToolkitClient(slow, 50).run("start_training", { config_name: "c" }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/did not answer start_training within 0\.1 s|within 0\.05 s|within 0\.1 s/);
  });
});

describe("health", () => {
  it("reports version and latency, and never throws", async () => {
    const up = new ScriptedToolkit().on("health", {
      response: () => Response.json({ status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" }),
    });
    const health = await new ToolkitClient(up, 1000).health();
    expect(health).toMatchObject({ ok: true, version: "2.0.0", server: "AI Toolkit MCP Server" });
    const down = new ScriptedToolkit().on("health", { throws: new TypeError("refused") });
    const failed = await new ToolkitClient(down, 1000).health();
    expect(failed.ok).toBe(false);
    expect(failed.error).toMatch(/could not be reached/);
  });
});

describe("transport selection", () => {
  afterEach(() => vi.restoreAllMocks());
  const base = { AI_TOOLKIT_HOST: "127.0.0.1", AI_TOOLKIT_PORT: "9" };

  it("prefers the VPC binding, which gets plain requests with no Access headers", async () => {
    const seen: Request[] = [];
    const binding: ToolkitBinding = {
      fetch: async (input, init) => {
        seen.push(new Request(input, init));
        return Response.json({ status: "healthy" });
      },
    };
    const config = readConfig({
      ...base,
      AI_TOOLKIT_URL: "https://toolkit.example.com",
      CF_ACCESS_CLIENT_ID: "id",
      CF_ACCESS_CLIENT_SECRET: "secret",
    });
    const transport = selectTransport(config, binding);
    expect(transport.kind).toBe("vpc");
    await transport.fetch("/health", { method: "GET" });
    expect(seen[0]?.url).toBe("http://127.0.0.1:9/health");
    expect(seen[0]?.headers.get("CF-Access-Client-Id")).toBeNull();
  });

  it("uses the Access hostname with the service token when no binding exists", () => {
    const config = readConfig({
      ...base,
      AI_TOOLKIT_URL: "https://toolkit.example.com/",
      CF_ACCESS_CLIENT_ID: "id",
      CF_ACCESS_CLIENT_SECRET: "secret",
    });
    const transport = selectTransport(config, undefined);
    expect(transport.kind).toBe("access");
    expect(transport.target).toBe("https://toolkit.example.com");
    expect(transport.target).not.toContain("secret");
  });

  it("sends the Access service token headers on every request to the hostname", async () => {
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ status: "healthy" }));
    const config = readConfig({
      ...base,
      AI_TOOLKIT_URL: "https://toolkit.example.com",
      CF_ACCESS_CLIENT_ID: "id.access",
      CF_ACCESS_CLIENT_SECRET: "s3cret",
    });
    await selectTransport(config, undefined).fetch("/mcp/execute", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
    });
    const [url, init] = spy.mock.calls[0] ?? [];
    const headers = new Headers(init?.headers);
    expect(url).toBe("https://toolkit.example.com/mcp/execute");
    expect(headers.get("CF-Access-Client-Id")).toBe("id.access");
    expect(headers.get("CF-Access-Client-Secret")).toBe("s3cret");
    expect(headers.get("Content-Type")).toBe("application/json");
  });

  it("falls back to host and port, defaulting to the original bridge's address", () => {
    expect(selectTransport(readConfig(base), undefined)).toMatchObject({
      kind: "direct",
      target: "http://127.0.0.1:9",
    });
    expect(selectTransport(readConfig({}), undefined).target).toBe("http://192.168.0.152:8012");
  });

  it("builds the Worker's client from its settings: the selected transport and the per-call time-out", async () => {
    const seen: string[] = [];
    const TOOLKIT: Fetcher = {
      fetch: async (input: RequestInfo | URL) => {
        seen.push(new Request(input).url);
        return Response.json({ status: "healthy" });
      },
      connect: () => {
        throw new Error("not used");
      },
    };
    const config = readConfig({ ...base, TOOLKIT_TIMEOUT_MS: "1234" });
    const client = toolkitClient(config, { TOOLKIT });
    expect(client.transport.kind).toBe("vpc");
    expect(client.timeoutMs).toBe(1234);
    expect((await client.health()).ok).toBe(true);
    expect(seen).toEqual(["http://127.0.0.1:9/health"]);
    expect(toolkitClient(config, {}).transport).toMatchObject({ kind: "direct", target: "http://127.0.0.1:9" });
  });
});

describe("settings", () => {
  it("explains what is wrong with a bad setting", () => {
    expect(() => readConfig({ AI_TOOLKIT_PORT: "99999" })).toThrow(/AI_TOOLKIT_PORT: .*See README.md, "Settings"/);
    expect(() => readConfig({ AI_TOOLKIT_URL: "not a url" })).toThrow(/AI_TOOLKIT_URL/);
  });

  it("treats empty strings as unset", () => {
    expect(readConfig({ AI_TOOLKIT_URL: "", OWNER_PASSWORD: "" })).toMatchObject({
      AI_TOOLKIT_URL: undefined,
      OWNER_PASSWORD: undefined,
    });
  });
});

describe("an answer that stalls after its headers", () => {
  const target = "http://127.0.0.1:9";
  /**
   * A toolkit that sends its headers and `sent` bytes of the body, then nothing. With
   * `likeFetch`, the request's signal errors the body when it fires, as workerd's fetch does
   * (the runtime's bare "The operation was aborted due to timeout" used to reach the tool).
   */
  function stalling(
    sent: string,
    likeFetch: boolean,
    calls: string[] = [],
    headers: Record<string, string> = {},
  ): ToolkitTransport {
    return {
      kind: "direct",
      target,
      fetch: async (path, init) => {
        calls.push(path);
        const signal = init?.signal ?? undefined;
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(sent));
            if (likeFetch) signal?.addEventListener("abort", () => controller.error(signal.reason));
          },
        });
        return new Response(body, { headers: { "Content-Type": "application/json", ...headers } });
      },
    };
  }

  it.each([true, false])(
    "is a time-out naming the toolkit, what it sent and what to check (body tied to the signal: %s)",
    async (likeFetch) => {
      const calls: string[] = [];
      const started = Date.now();
      const error = await failureOf(
        new ToolkitClient(stalling('{"success": true', likeFetch, calls), 100).run("start_training", {
          config_name: "c",
        }),
      );
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error.kind).toBe("timeout");
      expect(error.hop).toBe("reach");
      expect(error.message).toBe(
        "the toolkit at http://127.0.0.1:9 did not answer start_training within 0.1 s (it sent 16 bytes of " +
          "its answer, then nothing more): is the tunnel running and the toolkit up? see tunnel/README.md",
      );
      expect(calls).toHaveLength(1);
    },
  );

  it("is the same time-out for a small answer of declared length, which is read whole before it is handed on", async () => {
    const client = new ToolkitClient(stalling('{"success": true', true, [], { "Content-Length": "200" }), 100);
    // Read at once: the stall surfaces from the request itself, not from a later read of its body.
    const error = await failureOf(client.execute("start_training", "{}"));
    expect(error.kind).toBe("timeout");
    expect(error.message).toBe(
      "the toolkit at http://127.0.0.1:9 did not answer start_training within 0.1 s (it sent 16 bytes of " +
        "its answer, then nothing more): is the tunnel running and the toolkit up? see tunnel/README.md",
    );
  });

  it("streams a small answer that is compressed: its declared length is not what it inflates to", async () => {
    const headers = { "Content-Length": "200", "Content-Encoding": "gzip" };
    const client = new ToolkitClient(stalling('{"success": true', true, [], headers), 100);
    const response = await client.execute("start_training", "{}");
    expect((await failureOf(response.text())).kind).toBe("timeout");
  });

  it("a read that stalls is retried once, like any read that timed out", async () => {
    const calls: string[] = [];
    const error = await failureOf(new ToolkitClient(stalling("{", true, calls), 100).run("list_configs"));
    expect(error.kind).toBe("timeout");
    expect(calls).toHaveLength(2);
  });

  it(
    "a long call (a download) whose answer goes silent fails after the per-call time-out of silence, not its " +
      "own long one",
    async () => {
      const client = new ToolkitClient(stalling('{"success": true, "result": {"data": "AAAA', false), 200);
      const response = await client.execute("download_model", "{}", { timeoutMs: 60_000 });
      const started = Date.now();
      const error = await failureOf(response.text());
      expect(Date.now() - started).toBeLessThan(2000);
      expect(error.kind).toBe("timeout");
      expect(error.message).toBe(
        "the toolkit at http://127.0.0.1:9 stopped sending its answer to download_model: nothing for 0.2 s " +
          "after 42 bytes: is the tunnel running and the toolkit up? see tunnel/README.md",
      );
    },
  );

  it("an answer that breaks off is an unreachable toolkit, with how far it got, declared length or not", async () => {
    const broken = (declared: boolean): ToolkitTransport => ({
      kind: "direct",
      target,
      fetch: async () => {
        let step = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (step++ === 0) controller.enqueue(new TextEncoder().encode('{"success"'));
            else controller.error(new TypeError("Network connection lost."));
          },
        });
        return new Response(body, { headers: declared ? { "Content-Length": "100" } : {} });
      },
    });
    for (const declared of [false, true]) {
      const error = await failureOf(
        new ToolkitClient(broken(declared), 1000).run("start_training", { config_name: "c" }),
      );
      expect(error.kind).toBe("unreachable");
      expect(error.message).toMatch(
        /^the connection to the toolkit at http:\/\/127\.0\.0\.1:9 broke after 10 bytes of its answer to start_training \(Network connection lost\.\): is the tunnel running\?/,
      );
    }
  });

  it("reaches the tool's caller as a time-out result, not as a bug", async () => {
    const toolkit = new ScriptedToolkit().on("list_configs", {
      response: () =>
        new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode('{"success": true')) })),
    });
    const result = await callTool(toolkit, "list_configs");
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ kind: "timeout" });
    expect(result.content[0]?.text).toMatch(
      /^The toolkit at http:\/\/127\.0\.0\.1:9 did not answer list_configs within 2 s \(it sent 16 bytes of its answer, then nothing more\): is the tunnel running/,
    );
    expect(result.content[0]?.text).not.toMatch(/unexpectedly|bug/);
  }, 15_000);
});
