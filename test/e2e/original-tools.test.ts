import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, startStack, type Stack } from "./harness";

/**
 * The product end to end: wrangler dev + the local toolkit + a real OAuth sign-in + the MCP
 * SDK 1.x client, calling all 15 tools of the original server and checking what happened on the toolkit's disk.
 */
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

let stack: Stack;
let client: Client;

beforeAll(async () => {
  stack = await startStack({ toolkitEnv: { TOOLKIT_SIM_STEP_MS: "5", SIM_STEPS: "40" } });
  client = await stack.connect();
});
afterAll(() => stack?.stop());

async function ok(name: string, args: Record<string, unknown> = {}) {
  const result = await callTool(client, name, args);
  expect(result.isError, `${name}: ${result.content[0]?.text}`).toBeFalsy();
  return result.structuredContent ?? {};
}

describe("all 15 tools of the original server, through the Worker", () => {
  it("lists the original tools", async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const name of [
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
    ])
      expect(names).toContain(name);
  });

  it("uploads a dataset, configures, trains, exports and downloads a LoRA", async () => {
    const uploaded = await ok("upload_dataset", {
      dataset_name: "cats",
      images: [
        { filename: "cat1.png", data: PNG.toString("base64"), caption: "photo of sks cat" },
        { filename: "cat2.png", data: PNG.toString("base64"), caption: "sks cat sleeping" },
      ],
    });
    expect(uploaded.images_saved).toBe(2);
    const datasetDir = path.join(stack.dataDir, "datasets/cats");
    expect(await readFile(path.join(datasetDir, "cat1.png"))).toEqual(PNG);
    expect(await readFile(path.join(datasetDir, "cat2.txt"), "utf8")).toBe("sks cat sleeping");

    const datasets = await ok("list_datasets");
    expect(datasets.datasets).toContainEqual({ name: "cats", images: 2 });

    await ok("create_training_config", {
      name: "cat_lora",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: "/ai-toolkit/datasets/cats",
      steps: 40,
      trigger_word: "sks",
    });
    expect(existsSync(path.join(stack.dataDir, "config/cat_lora.yaml"))).toBe(true);
    expect((await ok("list_configs")).configs).toContain("cat_lora");
    const config = await ok("get_config", { name: "cat_lora" });
    expect(JSON.stringify(config.config)).toContain("/ai-toolkit/datasets/cats");

    const started = await ok("start_training", { config_name: "cat_lora" });
    const jobId = String(started.job_id);
    expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(await ok("list_training_jobs"))).toContain(jobId);

    let status = await ok("get_training_status", { job_id: jobId });
    for (let i = 0; i < 100 && status.status !== "completed"; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await ok("get_training_status", { job_id: jobId });
    }
    expect(status.status).toBe("completed");
    const logs = await ok("get_training_logs", { job_id: jobId, lines: 50 });
    expect(JSON.stringify(logs.logs)).toMatch(/40\/40/);

    const models = await ok("list_exported_models");
    expect(JSON.stringify(models.models)).toContain("cat_lora");
    await ok("export_model", {
      model_name: "cat_lora",
      output_path: "/ai-toolkit/outputs/exports/cat_lora.safetensors",
    });
    expect(existsSync(path.join(stack.dataDir, "outputs/exports/cat_lora.safetensors"))).toBe(true);

    const download = await callTool(client, "download_model", { model_name: "cat_lora" });
    expect(download.isError, download.content[0]?.text).toBeFalsy();
    const onDisk = await readFile(path.join(stack.dataDir, "outputs/cat_lora.safetensors"));
    expect(JSON.stringify(download.structuredContent)).toContain(String(onDisk.length));

    await ok("get_system_stats");
    const info = await ok("get_training_info");
    expect(info.total_jobs).toBeGreaterThanOrEqual(1);
  });

  it("stops a running job, and says so when it is already finished", async () => {
    await ok("create_training_config", {
      name: "slow",
      model_name: "runwayml/stable-diffusion-v1-5",
      dataset_path: "/ai-toolkit/datasets/cats",
      steps: 100_000,
    });
    const started = await ok("start_training", { config_name: "slow" });
    const stopped = await callTool(client, "stop_training", { job_id: String(started.job_id) });
    expect(stopped.isError, stopped.content[0]?.text).toBeFalsy();
    expect(stopped.structuredContent?.status).toBe("stopped");
    expect(stopped.structuredContent?.stopped_by).toBeTruthy();
    const again = await callTool(client, "stop_training", { job_id: String(started.job_id) });
    expect(again.isError).toBeFalsy();
    expect(again.structuredContent?.stopped).toBe(false);
    expect(again.content[0]?.text).toMatch(/had already ended \(stopped.*\); nothing was stopped/);
  });

  it("reports a toolkit failure as an error result", async () => {
    const missing = await callTool(client, "get_config", { name: "does_not_exist" });
    expect(missing.isError).toBe(true);
    expect(missing.content[0]?.text).toContain("Configuration not found");
  });
});

describe("what must fail and leave nothing behind", () => {
  it("refuses a request without a token, or with a wrong one", async () => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "list_configs", arguments: {} },
    });
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    const anonymous = await fetch(`${stack.workerUrl}/mcp`, { method: "POST", headers, body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toContain("resource_metadata=");
    const wrong = await fetch(`${stack.workerUrl}/mcp`, {
      method: "POST",
      headers: { ...headers, Authorization: "Bearer owner:x:y" },
      body,
    });
    expect(wrong.status).toBe(401);

    const intruder = new McpClient({ name: "intruder", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${stack.workerUrl}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${stack.accessToken}x` } },
    });
    await expect(intruder.connect(transport)).rejects.toThrow();
  });

  it("refuses a ../ filename and writes nothing anywhere", async () => {
    const before = await listTree(stack.dataDir);
    const result = await callTool(client, "upload_dataset", {
      dataset_name: "evil",
      images: [{ filename: "../../escape.png", data: PNG.toString("base64"), caption: "x" }],
    });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/filename must be a plain file name/);
    expect(await listTree(stack.dataDir)).toEqual(before);
    expect(existsSync(path.join(stack.dataDir, "..", "escape.png"))).toBe(false);
  });
});

describe("what the edge refuses before the toolkit hears of it", () => {
  it("refuses ai-toolkit's own files and configs, writes nothing, and no new config appears", async () => {
    const before = await listTree(stack.dataDir);
    const configs = (await ok("list_configs")).configs;
    for (const output_path of [
      "/ai-toolkit/run.py",
      "/ai-toolkit/config/evil.yaml",
      "/ai-toolkit/outputs/exports/new/evil.safetensors",
      "/ai-toolkit/outputs/exports/../../config/evil.yaml",
    ]) {
      const result = await callTool(client, "export_model", { model_name: "cat_lora", output_path });
      expect(result.isError, output_path).toBe(true);
      expect(result.content[0]?.text, output_path).toMatch(/output_path/);
    }
    expect(await listTree(stack.dataDir)).toEqual(before);
    expect((await ok("list_configs")).configs).toEqual(configs);
  });

  it("refuses a misspelt argument instead of saving a config with the default", async () => {
    const result = await callTool(client, "create_training_config", {
      name: "typo",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: "/ai-toolkit/datasets/cats",
      step: 5,
    });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/unknown argument `step`: did you mean `steps`\?/);
    expect((await ok("list_configs")).configs).not.toContain("typo");
  });
});

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((entry) => !entry.startsWith("runs")).sort();
}
