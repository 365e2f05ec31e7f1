import { env } from "cloudflare:workers";
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { jobIndexFor } from "../../../src/jobs/job-index";
import { trainingJobFor, type JobLookup, type TrainingJob } from "../../../src/jobs/training-job";
import type { JobRecord } from "../../../src/jobs/state";
import type { JobView } from "../../../src/jobs/view";
import { manifestKey, writeManifest, type StagedModel } from "../../../src/models/staged";
import { PREAMBLE, ScriptedToolkit, TRACEBACK, tqdmLog } from "./scripted-toolkit";

const MODEL = "black-forest-labs/FLUX.1-dev";

/** A TrainingJob wired to a scripted toolkit that is running the job; not begun yet. */
async function wiredJob() {
  const toolkit = new ScriptedToolkit();
  const jobId = crypto.randomUUID();
  toolkit.jobs.set(jobId, { status: "running", config: "my_lora", log: PREAMBLE });
  const stub = trainingJobFor(env, jobId);
  await runInDurableObject(stub, (instance: TrainingJob) => {
    instance.upstream = toolkit.client;
  });
  return { toolkit, jobId, stub };
}

/** A TrainingJob wired to a scripted toolkit, with a job the toolkit is running. */
async function setUp(total = 100) {
  const { toolkit, jobId, stub } = await wiredJob();
  await stub.begin({ jobId, config: "my_lora", startedAt: Date.now(), baseModel: MODEL, totalSteps: total });
  const job = () => toolkit.jobs.get(jobId)!;
  const poll = () => runDurableObjectAlarm(stub);
  const status = async (maxAgeMs = 60_000): Promise<JobView> => found(await stub.status(jobId, { maxAgeMs }));
  return { toolkit, jobId, stub, job, poll, status };
}

function found(lookup: JobLookup): JobView {
  if (!lookup.found) throw new Error(lookup.reason);
  return lookup.job;
}

async function alarmDelay(stub: DurableObjectStub<TrainingJob>): Promise<number | null> {
  return runInDurableObject(stub, async (_instance, state) => {
    const at = await state.storage.getAlarm();
    return at === null ? null : at - Date.now();
  });
}

describe("TrainingJob", () => {
  it("follows a normal run to completion and records its speed", async () => {
    const { stub, job, poll, status, jobId } = await setUp();
    expect(await poll()).toBe(true);
    expect((await status()).status).toBe("starting");
    job().log += tqdmLog("my_lora", 100, 0, 40, 10);
    await poll();
    expect(await status()).toMatchObject({
      status: "running",
      current_step: 40,
      total_steps: 100,
      progress: 40,
      rate: 2,
    });
    // Right after the start it polls fast.
    expect(await alarmDelay(stub)).toBeLessThanOrEqual(2_000);
    job().log += tqdmLog("my_lora", 100, 50, 100, 10) + "\nSaved to /ai-toolkit/outputs/my_lora.safetensors\n";
    job().status = "completed";
    await poll();
    const done = await status();
    expect(done).toMatchObject({
      status: "completed",
      current_step: 100,
      progress: 100,
      freshness: "final",
      estimated_time_remaining: null,
    });
    expect(await poll()).toBe(false);
    const metrics = await stub.metrics(100);
    expect(metrics?.series.points.map((p) => p.step)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(metrics?.series.summary.loss?.trend).toBe("falling");
    const index = jobIndexFor(env, "scripted-toolkit");
    expect((await index.list()).find((entry) => entry.job_id === jobId)).toMatchObject({
      status: "completed",
      current_step: 100,
    });
    expect((await index.speedOf(MODEL))?.secondsPerStep).toBeCloseTo(0.5, 5);
  });

  it("forgets a staged copy of the model when a run of it ends, since the file may have changed", async () => {
    const { job, poll } = await setUp();
    const staged: StagedModel = {
      name: "my_lora",
      key: "models/my_lora/old/my_lora.safetensors",
      filename: "my_lora.safetensors",
      size: 4,
      sha256: "0".repeat(64),
      stagedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    };
    await env.STAGING.put(staged.key, "old!");
    await writeManifest(env.STAGING, staged);
    await env.STAGING.put("models/other/x/other.safetensors", "keep");
    await writeManifest(env.STAGING, { ...staged, name: "other", key: "models/other/x/other.safetensors" });
    await poll();
    expect(await env.STAGING.head(manifestKey("my_lora"))).not.toBeNull();
    job().log += tqdmLog("my_lora", 100, 0, 100, 50);
    job().status = "completed";
    await poll();
    expect(await env.STAGING.head(manifestKey("my_lora"))).toBeNull();
    expect(await env.STAGING.head(staged.key)).toBeNull();
    expect(await env.STAGING.head(manifestKey("other"))).not.toBeNull();
  });

  it("fails a crashed run and keeps the traceback and the log tail", async () => {
    const { stub, job, poll, status } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 30, 10) + "\n" + TRACEBACK;
    job().status = "completed";
    await poll();
    const view = await status();
    expect(view.status).toBe("failed");
    expect(view.reason).toContain("torch.OutOfMemoryError");
    expect(view.traceback).toContain("BaseSDTrainProcess.py");
    const logs = await stub.storedLogs(100);
    expect(logs.lines).toContain("Traceback (most recent call last):");
    // Progress redraws collapse into the newest one.
    expect(logs.lines.filter((line) => line.includes("%|"))).toHaveLength(1);
  });

  it("turns lost when the toolkit restarts, with its history intact", async () => {
    const { stub, toolkit, job, poll, status } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 40, 10);
    await poll();
    toolkit.restart();
    await poll();
    const view = await status();
    expect(view).toMatchObject({ status: "lost", current_step: 40, progress: 40 });
    expect(view.notice).toContain("restarted");
    expect((await stub.metrics(100))?.series.points).toHaveLength(4);
    expect((await stub.storedLogs(10)).lines.length).toBeGreaterThan(0);
    expect(await poll()).toBe(false);
  });

  it("keeps the last known state while the toolkit is unreachable, then catches up", async () => {
    const { stub, toolkit, job, poll, status } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 20, 10);
    await poll();
    toolkit.down = true;
    await poll();
    const stale = await status();
    expect(stale).toMatchObject({ status: "running", current_step: 20, toolkit_reachable: false, freshness: "stale" });
    expect(stale.notice).toMatch(/^toolkit unreachable since \d{4}-/);
    expect(await alarmDelay(stub)).toBeGreaterThan(10_000);
    await poll();
    expect(await alarmDelay(stub)).toBeGreaterThan(30_000);
    toolkit.down = false;
    job().log += tqdmLog("my_lora", 100, 30, 60, 10);
    await poll();
    expect(await status()).toMatchObject({
      status: "running",
      current_step: 60,
      toolkit_reachable: true,
      notice: null,
    });
  });

  it("costs one request per poll while the toolkit is down: polls are not retried", async () => {
    const { toolkit, poll } = await setUp();
    toolkit.down = true;
    const before = toolkit.requests;
    await poll();
    expect(toolkit.requests - before).toBe(1);
  });

  it("stops polling a toolkit unreachable for a day, and asks once more when someone asks", async () => {
    const { stub, toolkit, job, poll, jobId } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 20, 10);
    await poll();
    toolkit.down = true;
    await poll();
    // As if the first failed poll had been 25 hours ago.
    await runInDurableObject(stub, async (_instance, state) => {
      const record = await state.storage.get<JobRecord>("record");
      await state.storage.put("record", { ...record, unreachableSince: Date.now() - 25 * 3_600_000 });
    });
    await poll();
    const lost = found(await stub.status(jobId, { storedOnly: true }));
    expect(lost).toMatchObject({ status: "lost", current_step: 20, progress: 20 });
    expect(lost.reason).toMatch(/^the toolkit has been unreachable since \d{4}-.*stopped polling/);
    expect(await alarmDelay(stub)).toBeNull();

    const before = toolkit.requests;
    expect(found(await stub.status(jobId, { maxAgeMs: 0 })).status).toBe("lost");
    expect(toolkit.requests - before).toBe(1);
    expect(await alarmDelay(stub)).toBeNull();

    toolkit.down = false;
    job().log += tqdmLog("my_lora", 100, 30, 50, 10);
    expect(found(await stub.status(jobId, { maxAgeMs: 0 }))).toMatchObject({
      status: "running",
      current_step: 50,
      reason: null,
    });
    expect(await alarmDelay(stub)).not.toBeNull();
  });

  it("records who stopped a job, and leaves a finished job alone", async () => {
    const { stub, toolkit, job, poll, jobId } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 20, 10);
    await poll();
    await toolkit.client.stopRun(jobId);
    const stopped = found(await stub.markStopped("owner", Date.UTC(2026, 0, 1)));
    expect(stopped).toMatchObject({
      status: "stopped",
      stopped_by: "owner",
      stopped_at: "2026-01-01T00:00:00.000Z",
      current_step: 20,
    });
    const again = found(await stub.markStopped("someone else", Date.now()));
    expect(again.stopped_by).toBe("owner");
  });

  it("serves concurrent callers with at most one toolkit poll", async () => {
    const { toolkit, job, stub, jobId } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 20, 10);
    toolkit.delayMs = 30;
    const before = toolkit.countOf("get_training_status");
    const views = await Promise.all(Array.from({ length: 100 }, () => stub.status(jobId)));
    expect(views.every((view) => view.found && view.job.current_step === 20)).toBe(true);
    expect(toolkit.countOf("get_training_status") - before).toBe(1);
    expect(toolkit.countOf("get_training_logs")).toBe(1);
  });

  it("answers from storage alone when asked to", async () => {
    const { toolkit, job, poll, stub, jobId } = await setUp();
    job().log += tqdmLog("my_lora", 100, 0, 20, 10);
    await poll();
    const calls = toolkit.calls.length;
    expect(found(await stub.status(jobId, { maxAgeMs: 0, storedOnly: true }))).toMatchObject({
      current_step: 20,
      freshness: "recent",
    });
    expect(toolkit.calls.length).toBe(calls);
  });

  it("adopts a job the Worker did not start, and says when nobody knows a job", async () => {
    const toolkit = new ScriptedToolkit();
    const jobId = crypto.randomUUID();
    toolkit.jobs.set(jobId, { status: "running", config: "other", log: tqdmLog("other", 50, 0, 10, 5) });
    const stub = trainingJobFor(env, jobId);
    await runInDurableObject(stub, (instance: TrainingJob) => {
      instance.upstream = toolkit.client;
    });
    expect(found(await stub.status(jobId))).toMatchObject({ config: "other", status: "running", current_step: 10 });
    const unknown = trainingJobFor(env, "no-such-job");
    await runInDurableObject(unknown, (instance: TrainingJob) => {
      instance.upstream = toolkit.client;
    });
    expect(await unknown.status("no-such-job")).toMatchObject({ found: false });
  });

  describe("adopted while it is being started", () => {
    const estimate = { seconds: 150, secondsPerStep: 1.5, steps: 100, basis: "guess" as const, note: "a guess" };

    async function starting() {
      const { toolkit, jobId, stub } = await wiredJob();
      const begin = () =>
        stub.begin({
          jobId,
          config: "my_lora",
          startedAt: Date.now() - 1000,
          baseModel: MODEL,
          totalSteps: 100,
          estimate,
        });
      return { toolkit, jobId, stub, begin };
    }

    async function expectStartDetails(stub: DurableObjectStub<TrainingJob>, jobId: string): Promise<void> {
      const view = found(await stub.status(jobId, { storedOnly: true }));
      expect(view).toMatchObject({ total_steps: 100, estimated_time: estimate });
      const entry = (await jobIndexFor(env, "scripted-toolkit").list()).find((e) => e.job_id === jobId);
      expect(entry?.base_model).toBe(MODEL);
    }

    it("keeps the start's details when begin lands while the adoption asks the toolkit", async () => {
      const { toolkit, jobId, stub, begin } = await starting();
      toolkit.delayMs = 100;
      const adopting = stub.status(jobId);
      await new Promise((resolve) => setTimeout(resolve, 30));
      await begin();
      expect(found(await adopting).job_id).toBe(jobId);
      await expectStartDetails(stub, jobId);
    });

    it("merges the start's details into a job adopted just before begin", async () => {
      const { jobId, stub, begin } = await starting();
      expect(found(await stub.status(jobId)).total_steps).toBeNull();
      expect(await begin()).toMatchObject({ total_steps: 100, estimated_time: estimate });
      await expectStartDetails(stub, jobId);
    });
  });

  it("keeps the history of a 100k-step run bounded", async () => {
    const total = 100_000;
    const { stub, job, poll, status } = await setUp(total);
    job().log = "";
    for (let from = 0; from < total; from += 1000) {
      job().log += tqdmLog("my_lora", total, from + 10, from + 1000, 10);
      if (from + 1000 === total) job().status = "completed";
      await poll();
    }
    expect(await status()).toMatchObject({ status: "completed", current_step: total });
    const metrics = await stub.metrics(200);
    expect(metrics?.stored_points).toBeLessThanOrEqual(1000);
    expect(metrics?.stored_points).toBeGreaterThan(400);
    expect(metrics?.series.points).toHaveLength(200);
    const steps = metrics?.series.points.map((p) => p.step) ?? [];
    expect(steps[0]).toBeLessThan(1000);
    expect(steps[steps.length - 1]).toBe(total);
    expect((await stub.storedLogs(1000)).stored).toBeLessThanOrEqual(300);
  }, 60_000);
});
