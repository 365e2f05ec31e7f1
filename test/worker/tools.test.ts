import { describe, expect, it } from "vitest";
import { callTool } from "./helpers/mcp";
import { ScriptedToolkit } from "./helpers/scripted-toolkit";
import { DASHBOARD_TOOL_CALLS, DASHBOARD_URI } from "../../src/dashboard";

/**
 * The original tools that pass straight through to the toolkit, through the real MCP handler,
 * against a scripted toolkit: what it sends,
 * what it answers on success, and that a toolkit-level failure becomes isError with the
 * toolkit's own message.
 */
interface Case {
  tool: string;
  args: Record<string, unknown>;
  /** What the toolkit must receive as arguments (defaults applied). */
  sent: Record<string, unknown>;
  result: Record<string, unknown>;
  text: RegExp;
  /** An in-band failure the real toolkit gives for this tool. */
  failure: Record<string, unknown>;
}

// start_training, get_training_status, stop_training and list_training_jobs answer from the
// training-job Durable Objects rather than passing through: test/worker/jobs/tools.test.ts.
const DURABLE_JOB_TOOLS = ["start_training", "get_training_status", "stop_training", "list_training_jobs"];

const cases: Case[] = [
  {
    tool: "create_training_config",
    args: { name: "my_lora", model_name: "black-forest-labs/FLUX.1-dev", dataset_path: "/ai-toolkit/datasets/cats" },
    sent: {
      name: "my_lora",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: "/ai-toolkit/datasets/cats",
      // FLUX.1-dev's family defaults (src/jobs/presets.ts), as far as the bridge takes them.
      resolution: 1024,
      steps: 1000,
      rank: 16,
      alpha: 16,
      low_vram: false,
    },
    result: { status: "success", config: "my_lora", path: "/ai-toolkit/config/my_lora.yaml" },
    text: /Saved configuration "my_lora"/,
    failure: { error: "Permission denied" },
  },
  {
    tool: "list_configs",
    args: {},
    sent: {},
    result: { configs: ["a", "b"] },
    text: /2 configurations: a, b/,
    failure: { error: "disk unreadable" },
  },
  {
    tool: "get_config",
    args: { name: "my_lora" },
    sent: { name: "my_lora" },
    result: { config: { job: "extension" } },
    text: /"job": "extension"/,
    failure: { error: "Configuration not found" },
  },
  {
    tool: "list_datasets",
    args: {},
    sent: {},
    result: { datasets: [{ name: "cats", images: 12 }] },
    text: /cats: 12 images/,
    failure: { error: "boom" },
  },
  {
    tool: "export_model",
    args: { model_name: "my_lora", output_path: "/ai-toolkit/outputs/exports/my_lora.safetensors" },
    sent: { model_name: "my_lora", output_path: "/ai-toolkit/outputs/exports/my_lora.safetensors" },
    result: { status: "success", path: "/ai-toolkit/outputs/exports/my_lora.safetensors" },
    text: /Exported "my_lora"/,
    failure: { error: "Model not found" },
  },
  {
    tool: "list_exported_models",
    args: {},
    sent: {},
    result: { models: [{ name: "my_lora", path: "/ai-toolkit/outputs/my_lora.safetensors", size: 2_000_000 }] },
    text: /my_lora: 2\.0 MB/,
    failure: { error: "boom" },
  },
  {
    tool: "get_system_stats",
    args: {},
    sent: {},
    result: {
      cpu_percent: 12,
      memory_percent: 40,
      disk_usage: 70,
      gpu: { cuda_available: true, device_name: "RTX 4090", memory_allocated: 1.5, memory_reserved: 2 },
    },
    text: /^CPU 12%, memory 40%, disk 70%, GPU RTX 4090: 1\.5 GB allocated, 2 GB reserved\.$/,
    failure: { error: "psutil missing" },
  },
  {
    tool: "get_training_logs",
    args: { job_id: "j1" },
    sent: { job_id: "j1", lines: 100 },
    result: { job_id: "j1", logs: ["line one\n", "line two\n"], total_lines: 2 },
    text: /line one\nline two/,
    failure: { error: "log unreadable" },
  },
  {
    tool: "get_training_info",
    args: {},
    sent: {},
    result: { total_jobs: 3, active_jobs: 1, configs: 2, datasets: 1, models: 1 },
    text: /total jobs: 3/,
    failure: { error: "boom" },
  },
];

describe.each(cases)("$tool", ({ tool, args, sent, result, text, failure }) => {
  it("forwards validated arguments and shapes the result", async () => {
    const toolkit = new ScriptedToolkit().on(tool, { result });
    const answer = await callTool(toolkit, tool, args);
    expect(answer.isError).toBeFalsy();
    expect(answer.content[0]?.text).toMatch(text);
    expect(answer.structuredContent).toMatchObject(result);
    const [call, ...more] = toolkit.callsTo(tool);
    expect(more).toHaveLength(0);
    expect(call?.path).toBe("/mcp/execute");
    expect(call?.body).toEqual({ tool, arguments: sent });
  });

  it("turns the toolkit's in-band failure into isError with its message", async () => {
    const toolkit = new ScriptedToolkit().on(tool, { result: failure });
    const answer = await callTool(toolkit, tool, args);
    expect(answer.isError).toBe(true);
    const message = String(failure.error ?? failure.message);
    expect(answer.content[0]?.text).toContain(message);
  });

  it("turns an envelope failure (success: false) into isError", async () => {
    const toolkit = new ScriptedToolkit().on(tool, {
      envelope: { success: false, result: null, error: "Traceback: KeyError 'x'" },
    });
    const answer = await callTool(toolkit, tool, args);
    expect(answer.isError).toBe(true);
    expect(answer.content[0]?.text).toContain("KeyError 'x'");
  });
});

describe("tools/list", () => {
  it("publishes all 15 original tools with a description on every parameter", async () => {
    const { mcpRequest } = await import("./helpers/mcp");
    const answer = await mcpRequest(new ScriptedToolkit(), "tools/list", {});
    const tools = (
      answer.result as {
        tools: Array<{
          name: string;
          inputSchema: { properties?: Record<string, { description?: string }> };
          annotations?: Record<string, unknown>;
        }>;
      }
    ).tools;
    const names = tools.map((t) => t.name);
    for (const seed of cases.map((c) => c.tool).concat("download_model", ...DURABLE_JOB_TOOLS))
      expect(names).toContain(seed);
    for (const tool of tools) {
      for (const [field, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
        expect(schema.description, `${tool.name}.${field} has no description`).toBeTruthy();
      }
      expect(tool.annotations, `${tool.name} has no annotations`).toBeDefined();
    }
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName.list_configs?.annotations?.readOnlyHint).toBe(true);
    expect(byName.stop_training?.annotations?.destructiveHint).toBe(true);
    expect(byName.create_training_config?.annotations?.idempotentHint).toBe(true);
  });
});

describe("output schemas", () => {
  it("every tool publishes an object outputSchema, and its title once as title and annotations.title", async () => {
    const { publishedTools } = await import("./helpers/mcp");
    const tools = [...(await publishedTools()).values()];
    expect(tools).toHaveLength(22);
    for (const tool of tools) {
      expect(tool.outputSchema?.type, `${tool.name} publishes no object outputSchema`).toBe("object");
      expect(tool.annotations?.title, tool.name).toBe(tool.title);
    }
  });

  it("admits a failure's structuredContent, which MCP SDK 1.x clients check too", async () => {
    const { outputProblem } = await import("./helpers/mcp");
    expect(
      await outputProblem("get_training_status", { error: "Neither knows it", kind: "not_found", job_id: "x" }),
    ).toBeUndefined();
    expect(await outputProblem("list_configs", { error: "Toolkit down", kind: "unreachable" })).toBeUndefined();
    expect(await outputProblem("list_configs", { configs: "not a list" })).toBeDefined();
    expect(await outputProblem("get_training_status", { status: "running" })).toBeDefined();
  });

  it("the SDK refuses a success answer that breaks the schema, and lets isError answers through", async () => {
    const { McpServer } = await import("@modelcontextprotocol/server");
    const { z } = await import("zod");
    const { answer, defineTool, readOnly, UserError } = await import("../../src/mcp/tool");
    const { mcpRequestTo } = await import("./helpers/mcp");
    const { toolContext } = await import("../../src/mcp/server");
    const { env } = await import("cloudflare:workers");
    const server = () => {
      const built = new McpServer({ name: "t", version: "1" });
      defineTool({
        name: "count",
        title: "Count",
        description: "count",
        input: z.object({ fail: z.boolean().default(false) }),
        output: z.object({ count: z.number() }),
        annotations: readOnly,
        async run({ fail }) {
          if (fail) throw new UserError("no count today");
          // A handler that breaks its own schema (a bug): the SDK must catch it.
          return answer({ count: "three" } as unknown as { count: number }, "three");
        },
      }).register(built, toolContext(env));
      return built;
    };
    const broken = (await mcpRequestTo(server, "tools/call", { name: "count", arguments: {} })).result as {
      isError?: boolean;
      content: Array<{ text: string }>;
    };
    expect(broken.isError).toBe(true);
    expect(broken.content[0]?.text).toMatch(/Output validation error/);
    const failed = (await mcpRequestTo(server, "tools/call", { name: "count", arguments: { fail: true } })).result as {
      isError?: boolean;
      structuredContent?: unknown;
    };
    expect(failed.isError).toBe(true);
    expect(failed.structuredContent).toEqual({ error: "no count today", kind: "invalid" });
  });
});

describe("initialize", () => {
  it("does not promise tools/list_changed notifications a stateless server can never send", async () => {
    const { mcpRequest } = await import("./helpers/mcp");
    const answer = await mcpRequest(new ScriptedToolkit(), "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "test", version: "1" },
    });
    const capabilities = (answer.result as { capabilities: { tools?: { listChanged?: boolean } } }).capabilities;
    expect(capabilities.tools).toBeDefined();
    expect(capabilities.tools?.listChanged).not.toBe(true);
  });
});

describe("the training dashboard (MCP App)", () => {
  it(
    "links get_training_status, wait_for_training and show_training_dashboard to the dashboard, visible to " +
      "model and app",
    async () => {
      const { publishedTools } = await import("./helpers/mcp");
      const tools = await publishedTools();
      for (const name of ["get_training_status", "wait_for_training", "show_training_dashboard"]) {
        const meta = (tools.get(name) as { _meta?: Record<string, unknown> } | undefined)?._meta;
        expect(meta, name).toMatchObject({
          ui: { resourceUri: DASHBOARD_URI, visibility: ["model", "app"] },
          "ui/resourceUri": DASHBOARD_URI,
        });
      }
      // Tools the page calls through the host must not be hidden from apps.
      for (const name of DASHBOARD_TOOL_CALLS.filter((tool) => tools.has(tool))) {
        const visibility = ((tools.get(name) as { _meta?: { ui?: { visibility?: string[] } } })._meta?.ui
          ?.visibility ?? ["model", "app"]) as string[];
        expect(visibility, name).toContain("app");
      }
      expect((tools.get("list_configs") as { _meta?: unknown })._meta).toBeUndefined();
    },
  );

  it("serves the page through the Worker's MCP handler as an MCP App resource", async () => {
    const { mcpRequest } = await import("./helpers/mcp");
    const listed = await mcpRequest(new ScriptedToolkit(), "resources/list", {});
    expect((listed.result as { resources: Array<{ uri: string; mimeType: string }> }).resources).toContainEqual(
      expect.objectContaining({ uri: DASHBOARD_URI, mimeType: "text/html;profile=mcp-app" }),
    );
    const read = await mcpRequest(new ScriptedToolkit(), "resources/read", { uri: DASHBOARD_URI });
    const content = (read.result as { contents: Array<{ mimeType: string; text: string }> }).contents[0];
    expect(content?.mimeType).toBe("text/html;profile=mcp-app");
    expect(content?.text).toMatch(/^<!doctype html>/i);
    expect(content?.text).not.toMatch(/<script[^>]+src=|<link[^>]+href=["']?https?:/i);
  });

  it("show_training_dashboard answers with the job's status as text for clients without Apps", async () => {
    const answer = await callTool(
      new ScriptedToolkit().on("list_training_jobs", { result: { jobs: [] } }),
      "show_training_dashboard",
      { job_id: "no-such-job" },
    );
    expect(answer.isError).toBe(true);
    expect(answer.structuredContent).toMatchObject({ kind: "not_found", job_id: "no-such-job" });
  });
});
