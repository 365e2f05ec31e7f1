// Jobs: the simulated trainer's tqdm log and safetensors output, status and progress as the
// original computes them, stop, crash, restart amnesia, a real ai-toolkit run.py, download.

import { createHash } from "node:crypto";
import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Harness, PNG_1X1, removeSandbox, startHarness, waitFor, waitForJobEnd } from "./helpers.ts";

// The shape ai-toolkit's tqdm prints, e.g.
// my_lora:  45%|####5     | 450/1000 [05:12<06:21,  1.44it/s, lr: 1.0e-04 loss: 3.912e-01]
const TQDM =
  /^(\w+): +(\d+)%\|[# 0-9]{10}\| (\d+)\/(\d+) \[(\d\d:\d\d)<(\d\d:\d\d|\?), +([\d.]+|\?)(it\/s|s\/it)(?:, lr: (\S+) loss: (\S+))?\]/;

function parseSafetensors(bytes: Buffer): { header: Record<string, unknown>; dataStart: number } {
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString("utf8")) as Record<string, unknown>;
  return { header, dataStart: 8 + headerLength };
}

let h: Harness;

async function createConfig(harness: Harness, name: string, steps: number): Promise<void> {
  await harness.result("create_training_config", {
    name,
    model_name: "black-forest-labs/FLUX.1-dev",
    dataset_path: "/ai-toolkit/datasets/faces",
    steps,
    rank: 8,
    alpha: 4,
  });
}

async function startJob(harness: Harness, config: string): Promise<string> {
  const started = await harness.result("start_training", { config_name: config });
  expect(started).toMatchObject({ status: "success" });
  expect(started.job_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(typeof started.pid).toBe("number");
  return started.job_id as string;
}

beforeAll(async () => {
  // Refresh on every step so the log holds many `\r` updates even for a short run.
  h = await startHarness({ simulatedStepMs: 10, simulatedEnv: { SIM_MININTERVAL_MS: "0" } });
  await h.result("upload_dataset", {
    dataset_name: "faces",
    images: [{ filename: "a.png", data: PNG_1X1, caption: "a" }],
  });
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

describe("simulated trainer", () => {
  it("logs tqdm updates separated by \\r, ends completed with progress 0, writes a valid safetensors", async () => {
    await createConfig(h, "sim_lora", 40);
    const jobId = await startJob(h, "sim_lora");
    expect((await h.result("get_training_status", { job_id: jobId })).status).toBe("running");
    const final = await waitForJobEnd(h, jobId);
    // tqdm lines never contain "step", so the original's progress stays 0 for a whole run.
    expect(final).toEqual({ status: "completed", job_id: jobId, progress: 0, config: "sim_lora" });

    const raw = await readFile(path.join(h.dataDir, "outputs", `training_${jobId}.log`), "utf8");
    expect(raw).toContain("\rsim_lora:   0%|          | 0/40 [00:00<?, ?it/s]");
    expect(raw.split("\r").length).toBeGreaterThan(20);

    const logs = await h.result("get_training_logs", { job_id: jobId, lines: 1000 });
    const lines = logs.logs as string[];
    expect(logs.total_lines).toBe(lines.length);
    for (const line of lines) expect(line.endsWith("\n")).toBe(true);
    const updates = lines.map((l) => TQDM.exec(l)).filter((m): m is RegExpExecArray => m !== null);
    expect(updates.length).toBeGreaterThan(20);
    const last = updates[updates.length - 1];
    expect(last?.slice(1, 5)).toEqual(["sim_lora", "100", "40", "40"]);
    expect(lines.at(-1)).toMatch(/^Saved to .*sim_lora\.safetensors\n$/);
    const losses = updates.map((m) => Number(m[10])).filter((n) => !Number.isNaN(n) && n > 0);
    expect(losses[0]).toBeGreaterThan(losses[losses.length - 1] ?? Infinity);
    expect(updates.find((m) => m[9] !== undefined)?.[9]).toBe("1.0e-04");

    const tail = await h.result("get_training_logs", { job_id: jobId, lines: 3 });
    expect(tail.logs).toEqual(lines.slice(-3));

    const bytes = await readFile(path.join(h.dataDir, "outputs", "sim_lora.safetensors"));
    const { header, dataStart } = parseSafetensors(bytes);
    expect(header.__metadata__).toMatchObject({
      ss_network_dim: "8",
      ss_network_alpha: "4",
      ss_base_model: "black-forest-labs/FLUX.1-dev",
      ss_steps: "40",
    });
    const tensors = Object.entries(header).filter(([name]) => name !== "__metadata__") as Array<
      [string, { dtype: string; shape: number[]; data_offsets: [number, number] }]
    >;
    expect(tensors.length).toBeGreaterThan(1);
    let expectedOffset = 0;
    for (const [, tensor] of tensors.sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0])) {
      expect(tensor.dtype).toBe("F32");
      expect(tensor.data_offsets[0]).toBe(expectedOffset);
      expect(tensor.data_offsets[1] - tensor.data_offsets[0]).toBe(tensor.shape.reduce((a, b) => a * b, 1) * 4);
      expectedOffset = tensor.data_offsets[1];
    }
    expect(bytes.length).toBe(dataStart + expectedOffset);
    expect(tensors.some(([, t]) => t.shape.includes(8))).toBe(true);

    const jobs = await h.result("list_training_jobs");
    expect(jobs.jobs).toContainEqual({ job_id: jobId, status: "completed", config: "sim_lora" });
  });

  it("stops a running job", async () => {
    await createConfig(h, "long_lora", 100_000);
    const started = await h.result("start_training", { config_name: "long_lora" });
    const jobId = started.job_id as string;
    const pid = started.pid as number;
    await waitFor(async () => {
      const logs = await h.result("get_training_logs", { job_id: jobId });
      return (logs.logs as string[]).some((l) => TQDM.test(l)) ? true : undefined;
    });
    expect((await h.result("get_training_info")).active_jobs).toBe(1);
    expect(await h.result("stop_training", { job_id: jobId })).toEqual({ status: "success", job_id: jobId });
    expect(await h.result("get_training_status", { job_id: jobId })).toMatchObject({ status: "stopped" });
    expect(await h.result("stop_training", { job_id: jobId })).toEqual({ error: "Job not found or already stopped" });
    expect(await h.result("stop_training", { job_id: "unknown" })).toEqual({
      error: "Job not found or already stopped",
    });
    expect((await h.result("get_training_info")).active_jobs).toBe(0);
    // The trainer process is gone (kill with signal 0 only checks that it exists).
    expect(() => process.kill(pid, 0)).toThrow();
    await expect(stat(path.join(h.dataDir, "outputs", "long_lora.safetensors"))).rejects.toThrow();
  });

  it("crashes with a Python traceback and still reports completed", async () => {
    const crashing = await startHarness(
      { simulatedStepMs: 5, simulatedFailAtStep: 7 },
      await mkdtemp(path.join(tmpdir(), "toolkit-crash-")),
    );
    try {
      await createConfig(crashing, "oom_lora", 50);
      const jobId = await startJob(crashing, "oom_lora");
      const final = await waitForJobEnd(crashing, jobId);
      expect(final).toMatchObject({ status: "completed", progress: 0 });
      const logs = ((await crashing.result("get_training_logs", { job_id: jobId })).logs as string[]).join("");
      expect(logs).toContain("Traceback (most recent call last):\n");
      expect(logs).toMatch(/\nRuntimeError: CUDA out of memory/);
      await expect(stat(path.join(crashing.dataDir, "outputs", "oom_lora.safetensors"))).rejects.toThrow();
    } finally {
      await crashing.close();
      await removeSandbox(crashing.sandbox);
    }
  });
});

describe("job registry", () => {
  it("forgets every job when the server restarts, while the files stay", async () => {
    const first = await startHarness({ simulatedStepMs: 5, simulatedSteps: 5 });
    let jobId = "";
    try {
      await createConfig(first, "restart_lora", 1000);
      jobId = await startJob(first, "restart_lora");
      await waitForJobEnd(first, jobId);
    } finally {
      await first.close();
    }
    const second = await startHarness({}, first.sandbox);
    try {
      expect(await second.result("get_training_status", { job_id: jobId })).toEqual({
        status: "error",
        message: "Job not found",
      });
      expect(await second.result("get_training_logs", { job_id: jobId })).toEqual({
        job_id: jobId,
        logs: [],
        lines: 0,
      });
      expect(await second.result("list_training_jobs")).toEqual({ jobs: [] });
      expect((await second.result("list_configs")).configs).toContain("restart_lora");
      // SIM_STEPS overrode the config's 1000 steps; the model is still there.
      expect((await second.result("list_exported_models")).models).toContainEqual(
        expect.objectContaining({ name: "restart_lora" }),
      );
      await stat(path.join(second.dataDir, "outputs", `training_${jobId}.log`));
    } finally {
      await second.close();
      await removeSandbox(first.sandbox);
    }
  });

  it("runs ai-toolkit's run.py when AI_TOOLKIT_PATH has one, with paths mapped into the data folder", async () => {
    const toolkitDir = await mkdtemp(path.join(tmpdir(), "fake-ai-toolkit-"));
    // A stand-in run.py that this Node can execute: it prints its cwd and the config it got.
    await writeFile(
      path.join(toolkitDir, "run.py"),
      'const fs = require("fs"); console.log("cwd=" + process.cwd()); ' +
        'console.log(fs.readFileSync(process.argv[2], "utf8"));',
    );
    const real = await startHarness({ aiToolkitPath: toolkitDir, python: process.execPath });
    try {
      expect(real.server.trainer).toBe(`ai-toolkit at ${toolkitDir}`);
      await createConfig(real, "real_lora", 10);
      const jobId = await startJob(real, "real_lora");
      await waitForJobEnd(real, jobId);
      const logs = ((await real.result("get_training_logs", { job_id: jobId })).logs as string[]).join("");
      expect(logs).toContain(`cwd=${toolkitDir}`);
      expect(logs).toContain(`folder_path: ${path.join(real.dataDir, "datasets", "faces")}`);
      expect(logs).toContain(`training_folder: ${path.join(real.dataDir, "outputs")}`);
    } finally {
      await real.close();
      await removeSandbox(real.sandbox);
      await removeSandbox(toolkitDir);
    }
  });
});

describe("download of a large simulated model", () => {
  it("streams the whole file as base64 with the exact size", async () => {
    const size = 12 * 1024 * 1024 + 1; // not a multiple of 3 or 4: exercises the carried bytes
    const big = await startHarness({ simulatedStepMs: 1, simulatedSteps: 3, simulatedModelBytes: size });
    try {
      await createConfig(big, "big_lora", 3);
      await waitForJobEnd(big, await startJob(big, "big_lora"));
      const file = path.join(big.dataDir, "outputs", "big_lora.safetensors");
      const onDisk = await readFile(file);
      expect(onDisk.length).toBe(size);
      const { header } = parseSafetensors(onDisk);
      expect(header.__metadata__).toMatchObject({ ss_network_dim: "8" });

      const response = await fetch(`${big.server.url}/mcp/execute`, {
        method: "POST",
        body: JSON.stringify({ tool: "download_model", arguments: { model_name: "big_lora" } }),
      });
      const text = await response.text();
      expect(Number(response.headers.get("content-length"))).toBe(text.length);
      const prefix = '{"success":true,"result":{"status":"success","model":"big_lora","data":"';
      const suffix = `","size":${size}},"error":null}`;
      expect(text.startsWith(prefix)).toBe(true);
      expect(text.endsWith(suffix)).toBe(true);
      const decoded = Buffer.from(text.slice(prefix.length, text.length - suffix.length), "base64");
      const digest = (b: Buffer): string => createHash("sha256").update(b).digest("hex");
      expect(digest(decoded)).toBe(digest(onDisk));
    } finally {
      await big.close();
      await removeSandbox(big.sandbox);
    }
  });
});
