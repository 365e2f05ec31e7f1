// The simulated trainer as the UI sees it: log, loss, samples, files, the folder rule, stopping
// and resuming, failing, stale rows, and the store surviving a restart.

import { readFile } from "node:fs/promises";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import {
  createJob,
  type Harness,
  type JobRow,
  jobConfig,
  removeSandbox,
  startHarness,
  startJob,
  waitForJob,
} from "./helpers.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

const isJpeg = (bytes: Buffer): boolean =>
  bytes[0] === 0xff && bytes[1] === 0xd8 && bytes.at(-2) === 0xff && bytes.at(-1) === 0xd9;

/** Width and height from a baseline JPEG's SOF0 segment. */
function jpegSize(bytes: Buffer): [number, number] {
  const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
  return [bytes.readUInt16BE(sof + 7), bytes.readUInt16BE(sof + 5)];
}

describe("a finished job", () => {
  let row: JobRow;
  const folder = (): string => path.join(h.training, "done");

  beforeAll(async () => {
    row = await createJob(h, "done", { steps: 10, saveEvery: 4, sampleEvery: 5, prompts: 2, keep: 1 });
    await startJob(h, row);
    await waitForJob(h, row.id, (r) => r.status === "completed", "completion");
  });

  it("has checkpoints, the final model and optimizer.pt in /files", async () => {
    const { files } = await h.json<{ files: Array<{ path: string; size: number }> }>(`/api/jobs/${row.id}/files`);
    // max_step_saves_to_keep: 1 removed the step-4 checkpoint.
    expect(files.map((f) => path.basename(f.path))).toEqual([
      "done.safetensors",
      "done_000000008.safetensors",
      "optimizer.pt",
    ]);
    const model = await h.fetch(`/api/files/${encodeURIComponent(files[0]?.path ?? "")}`, { auth: false });
    const bytes = Buffer.from(await model.arrayBuffer());
    expect(bytes.length).toBe(files[0]?.size);
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE())).toString()) as {
      __metadata__: Record<string, string>;
    };
    expect(JSON.parse(header.__metadata__.training_info ?? "{}")).toEqual({ step: 10, epoch: 10 });
  });

  it("has baseline, periodic and final samples, real JPEGs with 300 px thumbnails", async () => {
    const { samples } = await h.json<{ samples: string[] }>(`/api/jobs/${row.id}/samples`);
    const names = samples.map((s) => path.basename(s));
    expect(names).toHaveLength(6);
    for (const name of names) expect(name).toMatch(/^\d{13}__\d{9}_[01]\.jpg$/);
    expect(names.map((n) => n.slice(15, 24))).toEqual([
      "000000000",
      "000000000",
      "000000005",
      "000000005",
      "000000010",
      "000000010",
    ]);
    const sample = await h.fetch(`/api/img/${encodeURIComponent(samples[0] ?? "")}`, { auth: false });
    const bytes = Buffer.from(await sample.arrayBuffer());
    expect(isJpeg(bytes)).toBe(true);
    expect(jpegSize(bytes)).toEqual([64, 64]);
    const thumb = Buffer.from(
      await (await h.fetch(`/api/img/${encodeURIComponent(samples[0] ?? "")}?thumb=1`)).arrayBuffer(),
    );
    expect(isJpeg(thumb)).toBe(true);
    expect(jpegSize(thumb)).toEqual([300, 300]);
  });

  it("answers /loss from loss_log.db by full key only", async () => {
    const all = await h.json<{
      key: string;
      keys: string[];
      points: Array<{ step: number; wall_time: number; value: number }>;
    }>(`/api/jobs/${row.id}/loss?key=loss/loss`);
    expect(all.keys).toEqual(["learning_rate", "loss/loss"]);
    expect(all.points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(all.points[0]?.wall_time).toBeGreaterThan(1_600_000_000);
    const some = await h.json<{ points: Array<{ step: number }> }>(
      `/api/jobs/${row.id}/loss?key=loss/loss&since_step=3&stride=2&limit=2`,
    );
    expect(some.points.map((p) => p.step)).toEqual([4, 6]);
    const lr = await h.json<{ points: Array<{ value: number }> }>(`/api/jobs/${row.id}/loss?key=learning_rate&limit=1`);
    expect(lr.points[0]?.value).toBe(0.0001);
    expect(await h.json(`/api/jobs/${row.id}/loss?key=loss`)).toMatchObject({ key: "loss", points: [] });
  });

  it("serves log.txt by offset: the tail with reset first, then only new bytes", async () => {
    const first = await h.json<{ log: string; offset: number; reset: boolean }>(`/api/jobs/${row.id}/log`);
    expect(first.reset).toBe(true);
    expect(first.offset).toBe(Buffer.byteLength(first.log));
    expect(first.log).toContain("# Running job: done");
    expect(first.log).toMatch(/\rdone: 100%\|##########\| 10\/10 \[/);
    expect(first.log).toContain("Saving at step 4");
    expect(await h.json(`/api/jobs/${row.id}/log?offset=${first.offset}`)).toEqual({
      log: "",
      offset: first.offset,
      reset: false,
    });
    expect(await h.json(`/api/jobs/${row.id}/log?offset=${first.offset - 5}`)).toEqual({
      log: first.log.slice(-5),
      offset: first.offset,
      reset: false,
    });
    expect((await h.json<{ reset: boolean }>(`/api/jobs/${row.id}/log?offset=${first.offset + 1}`)).reset).toBe(true);
    expect(await readFile(path.join(folder(), "log.txt"), "utf8")).toBe(first.log);
  });
});

describe("the folder rule", () => {
  it("shows no samples, files or loss for a job whose config points elsewhere (the log is still there)", async () => {
    const elsewhere = path.join(h.dataDir, "elsewhere");
    const row = await h.post<JobRow>("/api/jobs", {
      name: "misfiled",
      gpu_ids: "2",
      job_config: jobConfig("other_name", elsewhere, { steps: 6 }),
    });
    await startJob(h, row);
    await waitForJob(h, row.id, (r) => r.status === "completed", "completion");
    expect(await h.json(`/api/jobs/${row.id}/samples`)).toEqual({ samples: [] });
    expect(await h.json(`/api/jobs/${row.id}/files`)).toEqual({ files: [] });
    expect(await h.json(`/api/jobs/${row.id}/loss?key=loss/loss`)).toEqual({ keys: [], key: "loss", points: [] });
    expect((await h.json<{ log: string }>(`/api/jobs/${row.id}/log`)).log).toContain("# Running job: other_name");
    const written = path.join(elsewhere, "other_name", "other_name.safetensors");
    expect((await h.fetch(`/api/files/${encodeURIComponent(written)}`)).status).toBe(403);
    await expect(readFile(written)).resolves.toBeInstanceOf(Buffer);
  });
});

describe("stopping, resuming, failing", () => {
  it("stop sets step back to the last checkpoint; a restart resumes from it", async () => {
    const row = await createJob(
      h,
      "stop_resume",
      { steps: 60, saveEvery: 5, sampleEvery: 1000, prompts: 1, simulate: { step_ms: 10 } },
      "3",
    );
    await startJob(h, row);
    await waitForJob(h, row.id, (r) => r.status === "running" && r.step >= 12, "step 12");
    await h.json(`/api/jobs/${row.id}/stop`);
    const stopped = await waitForJob(
      h,
      row.id,
      (r) => r.status === "stopped" && r.step % 5 === 0,
      "stopped at a checkpoint",
    );
    expect(stopped.step).toBeGreaterThanOrEqual(10);
    expect(stopped.info).toBe("Job stopped");
    const log = (await h.json<{ log: string }>(`/api/jobs/${row.id}/log`)).log;
    expect(log).toContain(
      "\n========================================\nJob stopped\n========================================\n",
    );

    await startJob(h, row);
    const resumed = await waitForJob(h, row.id, (r) => r.status === "completed", "completion");
    expect(resumed.step).toBe(60);
    const second = await h.json<{ log: string }>(`/api/jobs/${row.id}/log`);
    expect(second.log).toContain(`Found step ${stopped.step} in metadata, starting from there`);
    expect(second.log).not.toContain("Generating baseline samples");
  });

  it("switching the queue off sends a running job back to the queue", async () => {
    const row = await createJob(h, "requeued", { steps: 300, saveEvery: 1000 }, "4");
    await startJob(h, row);
    await waitForJob(h, row.id, (r) => r.status === "running" && r.step > 2, "running");
    await h.json("/api/queue/4/stop");
    const back = await waitForJob(h, row.id, (r) => r.status === "queued", "queued again");
    expect(back).toMatchObject({ info: "Job queued", step: 0, return_to_queue: true });
    await h.json(`/api/jobs/${row.id}/mark_stopped`);
  });

  it("a failing trainer ends in error with its message and the exit line in the log", async () => {
    const row = await createJob(
      h,
      "fails",
      { steps: 20, saveEvery: 3, simulate: { fail_at_step: 8, error: "boom: out of cheese" } },
      "6",
    );
    await startJob(h, row);
    const failed = await waitForJob(h, row.id, (r) => r.status === "error", "error");
    expect(failed).toMatchObject({ info: "boom: out of cheese", step: 6 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const log = (await h.json<{ log: string }>(`/api/jobs/${row.id}/log`)).log;
    expect(log).toContain("Error running job: boom: out of cheese");
    expect(log).toContain("\nJob process terminated with exit code 1.\n");
  });

  it("a vanished trainer leaves a stale running row that blocks its queue until mark_stopped", async () => {
    const stale = await createJob(h, "stale", { steps: 20, simulate: { vanish_at_step: 3 } }, "11");
    const next = await createJob(h, "after_stale", { steps: 3 }, "11");
    await startJob(h, stale);
    await waitForJob(h, stale.id, (r) => r.step >= 2, "step 2");
    await startJob(h, next);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await h.job(stale.id)).status).toBe("running");
    expect((await h.job(next.id)).status).toBe("queued");
    const stopAnswer = await h.json<JobRow>(`/api/jobs/${stale.id}/stop`);
    expect(stopAnswer.status).toBe("running");
    expect(await h.job(stale.id)).toMatchObject({ status: "running", stop: true, info: "Stopping job..." });
    await h.json(`/api/jobs/${stale.id}/mark_stopped`);
    await waitForJob(h, next.id, (r) => r.status === "completed", "the next job completing");
  });
});

describe("restart", () => {
  it("keeps jobs, queues and settings; a job running at close is a stale row afterwards", async () => {
    const sandbox = `${h.sandbox}-restart`;
    const first = await startHarness({}, sandbox);
    const done = await createJob(first, "kept", { steps: 2 });
    await startJob(first, done);
    await waitForJob(first, done.id, (r) => r.status === "completed", "completion");
    const running = await createJob(first, "cut_short", { steps: 500 }, "1");
    await startJob(first, running);
    await waitForJob(first, running.id, (r) => r.step > 2, "running");
    await first.post("/api/settings", {
      HF_TOKEN: "hf_other",
      TRAINING_FOLDER: first.training,
      DATASETS_FOLDER: path.join(first.dataDir, "datasets"),
      MODELS_PATH: "/models",
    });
    await first.close();

    const second = await startHarness({}, sandbox);
    try {
      expect(await second.job(done.id)).toMatchObject({ status: "completed", step: 2, info: "Training completed" });
      expect(await second.job(running.id)).toMatchObject({ status: "running" });
      expect(
        (await second.json<{ queues: Array<{ gpu_ids: string }> }>("/api/queue")).queues.map((q) => q.gpu_ids),
      ).toEqual(["0", "1"]);
      expect(await second.json("/api/settings")).toMatchObject({ HF_TOKEN: "hf_other", MODELS_PATH: "/models" });
      const files = await second.json<{ files: unknown[] }>(`/api/jobs/${done.id}/files`);
      expect(files.files).toHaveLength(2);
    } finally {
      await second.close();
      await removeSandbox(sandbox);
    }
  });
});
