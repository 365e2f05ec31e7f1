import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callTool, startStack, type Stack } from "./harness";

/**
 * Training-job state end to end: the local toolkit's simulated trainer prints real tqdm output,
 * the Worker's TrainingJob objects follow it, and a toolkit restart mid-run leaves the job
 * "lost" with its history intact.
 */
let stack: Stack;
let client: Client;

beforeAll(async () => {
  stack = await startStack({
    toolkitEnv: { TOOLKIT_SIM_STEP_MS: "40" },
    // Short windows so the test sees each state change within a second or two.
    workerVars: { TRAINING_POLL_FAST_MS: "500", TRAINING_STATUS_FRESH_MS: "500" },
  });
  client = await stack.connect();
});

afterAll(async () => {
  await stack?.stop();
});

async function ok(name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const result = await callTool(client, name, args);
  expect(result.isError, `${name}: ${result.content[0]?.text}`).toBeFalsy();
  return result.structuredContent ?? {};
}

async function createConfig(name: string, steps: number): Promise<void> {
  await ok("create_training_config", {
    name,
    model_name: "black-forest-labs/FLUX.1-dev",
    dataset_path: "/ai-toolkit/datasets/cats",
    steps,
  });
}

describe("training jobs through the Worker", () => {
  it("starts, waits with progress notifications, reports metrics and completes", async () => {
    await createConfig("e2e_short", 60);
    const started = await ok("start_training", { config_name: "e2e_short" });
    const jobId = String(started.job_id);
    expect(started).toMatchObject({ status: "starting", estimate_is_guess: true });
    expect(started.estimated_seconds).toBe(90);

    const progress: { progress: number; total?: number | undefined; message?: string | undefined }[] = [];
    // As a client would: wait again while the answer says the wait is not over.
    let final: Record<string, unknown> = {};
    for (let round = 0; round < 3 && final.reached !== true; round++) {
      const waited = await client.callTool({ name: "wait_for_training", arguments: { job_id: jobId } }, undefined, {
        onprogress: (p) => progress.push(p),
        timeout: 70_000,
      });
      final = waited.structuredContent as Record<string, unknown>;
    }
    expect(final).toMatchObject({
      status: "completed",
      current_step: 60,
      total_steps: 60,
      progress: 100,
      reached: true,
    });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    // Progress only moves forward (a new wait may repeat the step the previous one ended on).
    expect(progress.every((p, i) => i === 0 || p.progress >= (progress[i - 1]?.progress ?? -1))).toBe(true);
    expect(progress.at(-1)).toMatchObject({ progress: 60, total: 60 });

    const charted = await callTool(client, "get_training_metrics", { job_id: jobId, points: 10 });
    const image = (charted.content as Array<{ type: string; data?: string; mimeType?: string }>).find(
      (item) => item.type === "image",
    );
    expect(image?.mimeType).toBe("image/png");
    const png = Buffer.from(String(image?.data), "base64");
    // PNG signature, then IHDR's width and height: the 800x400 loss chart.
    expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([800, 400]);
    const dashboard = await client.readResource({ uri: "ui://ai-toolkit/training-dashboard" });
    expect(dashboard.contents[0]).toMatchObject({
      uri: "ui://ai-toolkit/training-dashboard",
      mimeType: "text/html;profile=mcp-app",
    });
    expect(String((dashboard.contents[0] as { text?: string }).text)).toMatch(/^<!doctype html>/i);
    const shown = await callTool(client, "show_training_dashboard", { job_id: jobId });
    expect((shown.content as Array<{ type: string }>).map((item) => item.type)).toEqual(["text", "image"]);
    const metrics = await ok("get_training_metrics", { job_id: jobId, points: 10 });
    expect(metrics.terms).toEqual(["loss"]);
    expect((metrics.points as unknown[]).length).toBeGreaterThan(1);
    expect((metrics.summary as Record<string, { trend: string }>).loss?.trend).toBe("falling");

    const status = await ok("get_training_status", { job_id: jobId });
    expect(status).toMatchObject({ status: "completed", freshness: "final" });
    expect(status.loss).toEqual(expect.any(Number));
  }, 200_000);

  it("estimates the next run of the same base model from the finished one", async () => {
    await createConfig("e2e_estimate", 30);
    const started = await ok("start_training", { config_name: "e2e_estimate" });
    expect(started.estimate_is_guess).toBe(false);
    expect(String((started.estimate as { note: string }).note)).toContain("earlier run");
    await ok("stop_training", { job_id: String(started.job_id) });
  });

  it("turns a job lost when the toolkit restarts mid-run, keeping its history", async () => {
    await createConfig("e2e_long", 5000);
    const started = await ok("start_training", { config_name: "e2e_long" });
    const jobId = String(started.job_id);
    const midway = await ok("wait_for_training", { job_id: jobId, until_step: 40 });
    expect(midway).toMatchObject({ status: "running", reached: true });

    await stack.restartToolkit();
    let status = await ok("get_training_status", { job_id: jobId });
    for (let i = 0; i < 20 && status.status !== "lost"; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = await ok("get_training_status", { job_id: jobId });
    }
    expect(status.status).toBe("lost");
    expect(Number(status.current_step)).toBeGreaterThanOrEqual(40);
    expect(String(status.notice)).toContain("restarted");

    const metrics = await ok("get_training_metrics", { job_id: jobId });
    expect(Number(metrics.stored_points)).toBeGreaterThan(1);
    const logs = await ok("get_training_logs", { job_id: jobId, lines: 20 });
    expect(logs.source).toBe("stored");
    expect(JSON.stringify(logs.logs)).toMatch(/e2e_long: +\d+%\|/);

    const jobs = (await ok("list_training_jobs")).jobs as { job_id: string; status: string }[];
    expect(jobs.find((job) => job.job_id === jobId)?.status).toBe("lost");
    expect(jobs.length).toBeGreaterThanOrEqual(3);

    const stop = await callTool(client, "stop_training", { job_id: jobId });
    expect(stop.isError).toBeFalsy();
    expect(stop.content[0]?.text).toMatch(/already ended \(lost/);
  });
});
