import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { trainingJobFor, type TrainingJob } from "../../../src/jobs/training-job";
import { beforeDeadline } from "../../../src/jobs/service";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { callTool, type ToolCallResult } from "../helpers/mcp";
import { decodePng, type DecodedPng } from "../charts/decode-png";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";
import { ScriptedToolkit as ScriptedJobs, tqdmLog } from "./scripted-toolkit";
import type { JobRecord } from "../../../src/jobs/state";

/**
 * The training tools through the real MCP handler. The tool layer and each job's Durable
 * Object both talk to the same scripted toolkit (the object's client is swapped in).
 */
const CONFIG = {
  config: { job: "extension", config: { process: [{ model: { name_or_path: "sd15-bench" }, train: { steps: 100 } }] } },
};

async function wire(toolkit: ScriptedToolkit, jobId: string): Promise<void> {
  await runInDurableObject(trainingJobFor(env, jobId), (instance: TrainingJob) => {
    instance.upstream = new BridgeUpstream(new ToolkitClient(toolkit, 2_000));
  });
}

function running(jobId: string, log: string) {
  const lines = log
    .split(/\r/)
    .filter(Boolean)
    .map((line) => `${line}\n`);
  return {
    status: { result: { status: "running", job_id: jobId, progress: 0, config: "my_lora" } },
    logs: { result: { job_id: jobId, logs: lines, total_lines: lines.length } },
  };
}

describe("start_training", () => {
  it("returns job id, status and an estimate labelled a guess", async () => {
    const jobId = crypto.randomUUID();
    const toolkit = new ScriptedToolkit()
      .on("get_config", { result: CONFIG })
      .on("start_training", { result: { status: "success", job_id: jobId, pid: 42 } });
    const answer = await callTool(toolkit, "start_training", { config_name: "my_lora" });
    expect(answer.isError).toBeFalsy();
    expect(answer.structuredContent).toMatchObject({
      job_id: jobId,
      status: "starting",
      pid: 42,
      estimated_seconds: 50,
      estimate_is_guess: true,
    });
    expect(answer.content[0]?.text).toMatch(/a guess of about 50 s/);
    expect(toolkit.callsTo("start_training")[0]?.body).toEqual({
      tool: "start_training",
      arguments: { config_name: "my_lora" },
    });
  });

  it("reports a missing configuration as an error", async () => {
    const toolkit = new ScriptedToolkit()
      .on("get_config", { result: { error: "Configuration not found" } })
      .on("start_training", { result: { error: "Configuration not found" } });
    const answer = await callTool(toolkit, "start_training", { config_name: "nope" });
    expect(answer.isError).toBe(true);
    expect(answer.content[0]?.text).toContain("Configuration not found");
  });
});

describe("get_training_status", () => {
  it("answers the original fields and more from the log", async () => {
    const jobId = crypto.randomUUID();
    const answers = running(jobId, tqdmLog("my_lora", 1000, 0, 450, 50, 0.7));
    const toolkit = new ScriptedToolkit()
      .on("get_training_status", answers.status)
      .on("get_training_logs", answers.logs);
    await wire(toolkit, jobId);
    const answer = await callTool(toolkit, "get_training_status", { job_id: jobId });
    expect(answer.isError).toBeFalsy();
    expect(answer.structuredContent).toMatchObject({
      status: "running",
      current_step: 450,
      total_steps: 1000,
      progress: 45,
      estimated_time_remaining: expect.any(Number),
      rate: expect.any(Number),
      elapsed_seconds: 315,
      freshness: "live",
    });
    expect(answer.content[0]?.text).toMatch(/running, step 450\/1000 \(45%\), loss 0\.\d+/);
  });

  it("says so when neither the Worker nor the toolkit knows the job", async () => {
    const toolkit = new ScriptedToolkit()
      .on("get_training_status", { result: { status: "error", message: "Job not found" } })
      .on("get_training_logs", { result: { job_id: "x", logs: [], lines: 0 } });
    await wire(toolkit, "no-such-job-1");
    const answer = await callTool(toolkit, "get_training_status", { job_id: "no-such-job-1" });
    expect(answer.isError).toBe(true);
    expect(answer.content[0]?.text).toContain("Neither the Worker nor the toolkit knows a job no-such-job-1");
  });
});

describe("stop_training", () => {
  it("records who stopped a job, and says clearly when it had already ended", async () => {
    const jobId = crypto.randomUUID();
    const answers = running(jobId, tqdmLog("my_lora", 100, 0, 20, 10));
    const toolkit = new ScriptedToolkit()
      .on("get_training_status", answers.status, {
        result: { status: "stopped", job_id: jobId, progress: 20, config: "my_lora" },
      })
      .on("get_training_logs", answers.logs)
      .on("stop_training", { result: { status: "success", job_id: jobId } });
    await wire(toolkit, jobId);
    const stopped = await callTool(toolkit, "stop_training", { job_id: jobId });
    expect(stopped.isError).toBeFalsy();
    expect(stopped.structuredContent).toMatchObject({
      status: "stopped",
      stopped: true,
      stopped_by: "owner",
      current_step: 20,
    });
    const again = await callTool(toolkit, "stop_training", { job_id: jobId });
    expect(again.isError).toBeFalsy();
    expect(again.structuredContent).toMatchObject({ stopped: false, status: "stopped" });
    expect(again.content[0]?.text).toMatch(/already ended \(stopped.*nothing was stopped/);
    expect(toolkit.callsTo("stop_training")).toHaveLength(1);
  });
});

describe("when the toolkit is down", () => {
  it("lists recorded jobs, serves stored logs, metrics and the last known status", async () => {
    const jobId = crypto.randomUUID();
    const answers = running(jobId, tqdmLog("my_lora", 100, 0, 30, 10));
    const up = new ScriptedToolkit().on("get_training_status", answers.status).on("get_training_logs", answers.logs);
    await wire(up, jobId);
    expect((await callTool(up, "get_training_status", { job_id: jobId })).structuredContent?.current_step).toBe(30);

    const down = new ScriptedToolkit()
      .on("list_training_jobs", { throws: new TypeError("connect ECONNREFUSED") })
      .on("get_training_logs", { throws: new TypeError("connect ECONNREFUSED") })
      .on("get_training_status", { throws: new TypeError("connect ECONNREFUSED") });
    await wire(down, jobId);
    // The next scheduled poll finds the toolkit down.
    expect(await runDurableObjectAlarm(trainingJobFor(env, jobId))).toBe(true);

    const list = await callTool(down, "list_training_jobs");
    expect(list.isError).toBeFalsy();
    expect(list.structuredContent).toMatchObject({ toolkit_reachable: false });
    expect(JSON.stringify(list.structuredContent?.jobs)).toContain(jobId);

    const logs = await callTool(down, "get_training_logs", { job_id: jobId, lines: 5 });
    expect(logs.isError).toBeFalsy();
    expect(logs.structuredContent).toMatchObject({ source: "stored" });
    expect(logs.content[0]?.text).toMatch(/could not be reached.*newest lines the Worker stored/s);

    const status = await callTool(down, "get_training_status", { job_id: jobId });
    expect(status.structuredContent).toMatchObject({ status: "running", current_step: 30, toolkit_reachable: false });
    expect(String(status.structuredContent?.notice)).toMatch(/^toolkit unreachable since /);

    const metrics = await callTool(down, "get_training_metrics", { job_id: jobId, points: 2 });
    expect(metrics.structuredContent).toMatchObject({ terms: ["loss"], stored_points: 3 });
    expect((metrics.structuredContent?.points as unknown[]).length).toBe(2);
  });
});

describe("wait_for_training", () => {
  it("returns as soon as the job reaches the step asked for", async () => {
    const jobId = crypto.randomUUID();
    const answers = running(jobId, tqdmLog("my_lora", 100, 0, 60, 10));
    const toolkit = new ScriptedToolkit()
      .on("get_training_status", answers.status)
      .on("get_training_logs", answers.logs);
    await wire(toolkit, jobId);
    const answer = await callTool(toolkit, "wait_for_training", { job_id: jobId, until_step: 50 });
    expect(answer.structuredContent).toMatchObject({
      reached: true,
      current_step: 60,
      reached_reason: "step 60 >= 50",
    });
  });

  it("answers from the stored state when a poll hangs past the deadline", async () => {
    const jobId = crypto.randomUUID();
    const slow = new ScriptedJobs();
    slow.jobs.set(jobId, { status: "running", config: "my_lora", log: tqdmLog("my_lora", 100, 0, 20, 10) });
    const stub = trainingJobFor(env, jobId);
    await runInDurableObject(stub, (instance: TrainingJob) => {
      instance.upstream = slow.client;
    });
    expect(await stub.status(jobId)).toMatchObject({ found: true });
    // Make the stored state stale, then let the toolkit take longer than the wait allows.
    await runInDurableObject(stub, async (_instance, state) => {
      const record = await state.storage.get<JobRecord>("record");
      await state.storage.put("record", { ...record, lastPolledAt: 0 });
    });
    slow.delayMs = 4_000;
    const started = Date.now();
    const answer = await callTool(new ScriptedToolkit(), "wait_for_training", {
      job_id: jobId,
      until_step: 90,
      timeout_seconds: 1,
    });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(answer.structuredContent).toMatchObject({ reached: false, current_step: 20, status: "running" });
  });

  it("clears its deadline timer when the status look-up fails", async () => {
    vi.useFakeTimers();
    try {
      const failing = Promise.reject(new Error("the job object failed"));
      await expect(beforeDeadline(failing, 50_000, async () => "stored")).rejects.toThrow("the job object failed");
      expect(vi.getTimerCount()).toBe(0);
      const late = beforeDeadline(new Promise<string>(() => undefined), 1_000, async () => "stored");
      await vi.advanceTimersByTimeAsync(1_000);
      expect(await late).toBe("stored");
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("validates its inputs with messages naming the field", async () => {
    const answer = await callTool(new ScriptedToolkit(), "wait_for_training", { job_id: "x", timeout_seconds: 120 });
    expect(answer.isError).toBe(true);
    expect(answer.content[0]?.text).toContain("timeout_seconds must be at most 50");
  });
});

describe("charts in the answers", () => {
  async function trainedJob(): Promise<{ jobId: string; toolkit: ScriptedToolkit }> {
    const jobId = crypto.randomUUID();
    const answers = running(jobId, tqdmLog("my_lora", 100, 0, 60, 10));
    const toolkit = new ScriptedToolkit()
      .on("get_training_status", answers.status)
      .on("get_training_logs", answers.logs);
    await wire(toolkit, jobId);
    expect((await callTool(toolkit, "get_training_status", { job_id: jobId })).structuredContent?.current_step).toBe(
      60,
    );
    return { jobId, toolkit };
  }

  function png(answer: ToolCallResult): DecodedPng & { bytes: number } {
    const images = answer.content.filter((item) => item.type === "image");
    expect(images).toHaveLength(1);
    expect(images[0]?.mimeType).toBe("image/png");
    const bytes = Uint8Array.fromBase64(String(images[0]?.data));
    return Object.assign(decodePng(bytes), { bytes: bytes.byteLength });
  }

  it("get_training_metrics adds an 800x400 PNG chart of the loss, under 100 KB, after the text", async () => {
    const { jobId, toolkit } = await trainedJob();
    const answer = await callTool(toolkit, "get_training_metrics", { job_id: jobId });
    expect(answer.content[0]?.type).toBe("text");
    const chart = png(answer);
    expect([chart.width, chart.height]).toEqual([800, 400]);
    expect(chart.bytes).toBeLessThan(100 * 1024);
    const dark = png(await callTool(toolkit, "get_training_metrics", { job_id: jobId, chart_theme: "dark" }));
    // The two themes differ where the background shows (a corner).
    expect(dark.pixel(2, 2)).not.toBe(chart.pixel(2, 2));
    const plain = await callTool(toolkit, "get_training_metrics", { job_id: jobId, chart: false });
    expect(plain.content.map((item) => item.type)).toEqual(["text"]);
  });

  it("get_training_status adds a sparkline only when asked", async () => {
    const { jobId, toolkit } = await trainedJob();
    const plain = await callTool(toolkit, "get_training_status", { job_id: jobId });
    expect(plain.content.map((item) => item.type)).toEqual(["text"]);
    const withChart = await callTool(toolkit, "get_training_status", { job_id: jobId, include_chart: true });
    expect(withChart.structuredContent).toMatchObject({ job_id: jobId, current_step: 60 });
    const spark = png(withChart);
    expect([spark.width, spark.height]).toEqual([240, 48]);
  });

  it("draws nothing before any loss value is recorded", async () => {
    const jobId = crypto.randomUUID();
    const answers = running(jobId, "Loading model...\n");
    const toolkit = new ScriptedToolkit()
      .on("get_training_status", answers.status)
      .on("get_training_logs", answers.logs);
    await wire(toolkit, jobId);
    await callTool(toolkit, "get_training_status", { job_id: jobId });
    const answer = await callTool(toolkit, "get_training_metrics", { job_id: jobId });
    expect(answer.isError).toBeFalsy();
    expect(answer.content.map((item) => item.type)).toEqual(["text"]);
    expect(answer.content[0]?.text).toMatch(/no loss values recorded yet/);
  });
});
