// The HTTP surface: routes, the envelope, FastAPI's 422, the "parameters" alias.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Harness, removeSandbox, startHarness } from "./helpers.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

const post = (body: string): Promise<Response> =>
  fetch(`${h.server.url}/mcp/execute`, { method: "POST", headers: { "content-type": "application/json" }, body });

describe("routes", () => {
  it("answers /health like the original", async () => {
    const response = await fetch(`${h.server.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "healthy", server: "AI Toolkit MCP Server", version: "2.0.0" });
  });

  it("lists the 15 tools with JSON Schema parameters", async () => {
    const body = (await (await fetch(`${h.server.url}/mcp/tools`)).json()) as {
      tools: Array<{ name: string; description: string; parameters: { type: string; required?: string[] } }>;
    };
    expect(body.tools.map((t) => t.name).sort()).toEqual(
      [
        "create_training_config",
        "list_configs",
        "get_config",
        "upload_dataset",
        "list_datasets",
        "start_training",
        "get_training_status",
        "stop_training",
        "list_training_jobs",
        "export_model",
        "list_exported_models",
        "download_model",
        "get_system_stats",
        "get_training_logs",
        "get_training_info",
      ].sort(),
    );
    for (const tool of body.tools) {
      expect(tool.description).not.toBe("");
      expect(tool.parameters.type).toBe("object");
    }
    const create = body.tools.find((t) => t.name === "create_training_config");
    expect(create?.parameters.required).toEqual(["name", "model_name", "dataset_path"]);
  });

  it("answers unknown paths 404 and wrong methods 405, FastAPI style", async () => {
    const missing = await fetch(`${h.server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ detail: "Not Found" });
    const wrong = await fetch(`${h.server.url}/mcp/execute`);
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toEqual({ detail: "Method Not Allowed" });
  });
});

describe("/mcp/execute", () => {
  it("wraps a result in the success envelope", async () => {
    const response = await post(JSON.stringify({ tool: "list_configs", arguments: {} }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, result: { configs: [] }, error: null });
  });

  it("answers an unknown tool with success:false and a message, still HTTP 200", async () => {
    const response = await post(JSON.stringify({ tool: "no_such_tool", arguments: {} }));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { success: boolean; result: unknown; error: string };
    expect(body.success).toBe(false);
    expect(body.result).toBeNull();
    expect(body.error).toContain("no_such_tool");
  });

  it("reports anticipated failures inside a successful envelope", async () => {
    expect(await h.call("get_config", { name: "absent" })).toEqual({
      success: true,
      result: { error: "Configuration not found" },
      error: null,
    });
    expect(await h.call("get_training_status", { job_id: "absent" })).toEqual({
      success: true,
      result: { status: "error", message: "Job not found" },
      error: null,
    });
    expect((await h.call("create_training_config", { name: "x" })).result).toEqual({
      error: "Missing required field: model_name",
    });
  });

  it("accepts 'parameters' as an alias of 'arguments', and neither at all", async () => {
    await h.result("create_training_config", {
      name: "alias",
      model_name: "sd15",
      dataset_path: "/ai-toolkit/datasets/a",
    });
    const viaParameters = await post(JSON.stringify({ tool: "get_config", parameters: { name: "alias" } }));
    const body = (await viaParameters.json()) as { success: boolean; result: { config: { config: { name: string } } } };
    expect(body.success).toBe(true);
    expect(body.result.config.config.name).toBe("alias");
    // An empty "arguments" defers to "parameters", as `arguments or parameters` does.
    const both = await post(JSON.stringify({ tool: "get_config", arguments: {}, parameters: { name: "alias" } }));
    expect(((await both.json()) as { result: Record<string, unknown> }).result).toHaveProperty("config");
    const none = await post(JSON.stringify({ tool: "list_configs" }));
    expect(((await none.json()) as { result: { configs: string[] } }).result.configs).toContain("alias");
  });

  it("answers a body that is not JSON with 422 and a FastAPI detail list", async () => {
    const response = await post("this is not json");
    expect(response.status).toBe(422);
    const body = (await response.json()) as { detail: Array<{ type: string; loc: unknown[] }> };
    expect(Array.isArray(body.detail)).toBe(true);
    expect(body.detail[0]?.type).toBe("json_invalid");
    expect(body.detail[0]?.loc[0]).toBe("body");
  });

  it("answers 422 when the request does not fit the request model", async () => {
    for (const bad of ["[1,2]", '{"arguments":{}}', '{"tool":5}', '{"tool":"list_configs","arguments":[1]}', ""]) {
      const response = await post(bad);
      expect(response.status, bad).toBe(422);
      expect((await response.json()) as { detail: unknown[] }).toHaveProperty("detail");
    }
  });

  it("reads large bodies (a 20 MB upload) in one request", async () => {
    const image = Buffer.alloc(20 * 1024 * 1024, 7);
    const result = await h.result("upload_dataset", {
      dataset_name: "big",
      images: [{ filename: "big.png", data: image.toString("base64"), caption: "big" }],
    });
    expect(result.images_saved).toBe(1);
  });

  it("refuses a body over the configured limit with 413", async () => {
    const small = await startHarness({ maxBodyBytes: 1024 });
    try {
      const response = await fetch(`${small.server.url}/mcp/execute`, {
        method: "POST",
        body: JSON.stringify({ tool: "list_configs", arguments: { pad: "x".repeat(4096) } }),
      });
      expect(response.status).toBe(413);
    } finally {
      await small.close();
      await removeSandbox(small.sandbox);
    }
  });
});
