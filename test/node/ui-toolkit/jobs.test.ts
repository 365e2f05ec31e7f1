// The UI stand-in's job rows and queue: creation, the two-call start, queueing behind a running
// job, the routes that answer the row as it was before, and the queue switching itself off.

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

describe("job rows", () => {
  it("creates a stopped row with job_config as a string and total_steps null", async () => {
    const row = await createJob(h, "rows_a", { steps: 3 });
    expect(Object.keys(row)).toEqual([
      "id",
      "name",
      "gpu_ids",
      "job_config",
      "created_at",
      "updated_at",
      "status",
      "stop",
      "return_to_queue",
      "step",
      "total_steps",
      "info",
      "speed_string",
      "queue_position",
      "pid",
      "job_type",
      "job_ref",
      "save_now",
      "sample_now",
    ]);
    expect(row).toMatchObject({
      name: "rows_a",
      gpu_ids: "0",
      status: "stopped",
      step: 0,
      total_steps: null,
      pid: null,
      job_type: "train",
      job_ref: null,
      info: "",
    });
    expect(typeof row.job_config).toBe("string");
    expect(JSON.parse(row.job_config)).toEqual(jobConfig("rows_a", h.training, { steps: 3 }));
    const second = await createJob(h, "rows_b");
    expect(second.queue_position).toBe(row.queue_position + 1000);
  });

  it("refuses a duplicate name with 409 and updates with id", async () => {
    const row = await createJob(h, "rows_dup");
    const again = await h.fetch("/api/jobs", {
      method: "POST",
      body: JSON.stringify({ name: "rows_dup", gpu_ids: "0", job_config: {} }),
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: "Job name already exists" });
    const updated = await h.post<JobRow>("/api/jobs", { id: row.id, gpu_ids: "1", job_ref: "ref-1" });
    expect(updated).toMatchObject({
      id: row.id,
      name: "rows_dup",
      gpu_ids: "1",
      job_ref: "ref-1",
      job_config: row.job_config,
    });
    expect(await h.json(`/api/jobs?job_ref=ref-1`)).toMatchObject({ id: row.id });
    expect(await h.json(`/api/jobs?id=00000000-0000-0000-0000-000000000000`)).toBeNull();
    const list = await h.json<{ jobs: JobRow[] }>("/api/jobs");
    const created = list.jobs.map((job) => job.created_at);
    expect(created).toEqual([...created].sort().reverse());
  });
});

describe("queue", () => {
  it("runs a job only after both the job start and the queue start", async () => {
    const row = await createJob(h, "two_call", { steps: 6 }, "5");
    const before = await h.json<JobRow>(`/api/jobs/${row.id}/start`);
    expect(before.status).toBe("stopped");
    const queued = await h.job(row.id);
    expect(queued).toMatchObject({ status: "queued", info: "Job queued" });
    expect(queued.queue_position).toBeGreaterThan(row.queue_position);
    expect((await h.json<{ queues: unknown[] }>("/api/queue")).queues).toContainEqual({
      id: expect.any(Number),
      gpu_ids: "5",
      is_running: false,
    });
    await h.server.tick();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect((await h.job(row.id)).status).toBe("queued");

    const queue = await h.json<{ gpu_ids: string; is_running: boolean }>("/api/queue/5/start");
    expect(queue).toMatchObject({ gpu_ids: "5", is_running: false });
    const done = await waitForJob(h, row.id, (r) => r.status === "completed", "completion");
    expect(done).toMatchObject({ info: "Training completed", step: 6, total_steps: null });
    expect(done.speed_string).toMatch(/^\d+\.\d\d (iter\/sec|sec\/iter)$/);
    expect(done.pid).toEqual(expect.any(Number));
    await h.server.tick();
    const queues = await h.json<{ queues: Array<{ gpu_ids: string; is_running: boolean }> }>("/api/queue");
    expect(queues.queues.find((q) => q.gpu_ids === "5")?.is_running).toBe(false);
  });

  it("keeps a second job queued behind the first on the same GPU", async () => {
    const first = await createJob(h, "first_on_7", { steps: 100 }, "7");
    const second = await createJob(h, "second_on_7", { steps: 3 }, "7");
    await startJob(h, first);
    await startJob(h, second);
    await waitForJob(h, first.id, (r) => r.status === "running", "first running");
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect((await h.job(second.id)).status).toBe("queued");
    }
    await waitForJob(h, first.id, (r) => r.status === "completed", "first completed");
    await waitForJob(h, second.id, (r) => r.status === "completed", "second completed");
  });

  it("goes through running phases with the documented info phrases", async () => {
    // Slower steps, so polling sees every phase.
    const row = await createJob(
      h,
      "phases",
      { steps: 8, saveEvery: 3, sampleEvery: 4, prompts: 4, simulate: { step_ms: 40 } },
      "8",
    );
    await startJob(h, row);
    const seen = new Set<string>();
    await waitForJob(
      h,
      row.id,
      (r) => {
        seen.add(`${r.status}: ${r.info}`);
        return r.status === "completed";
      },
      "completion",
    );
    for (const phrase of [
      "running: Loading model",
      "running: Training",
      "running: Saving model",
      "completed: Training completed",
    ]) {
      expect(seen.has(phrase), `${phrase} in ${[...seen].join(" | ")}`).toBe(true);
    }
    expect([...seen].some((s) => /^running: Generating images - \d\/4$/.test(s))).toBe(true);
  });
});

describe("routes that answer the row as it was before", () => {
  it("start, stop, mark_stopped and delete answer the old row; save_now and sample_now the new one", async () => {
    const row = await createJob(h, "before_rows", { steps: 400 }, "9");
    expect((await h.json<JobRow>(`/api/jobs/${row.id}/start`)).status).toBe("stopped");
    await h.json("/api/queue/9/start");
    const running = await waitForJob(h, row.id, (r) => r.status === "running" && r.pid !== null, "running");
    expect((await h.json<JobRow>(`/api/jobs/${row.id}/save_now`)).save_now).toBe(true);
    expect((await h.json<JobRow>(`/api/jobs/${row.id}/sample_now`)).sample_now).toBe(true);
    const stopped = await h.json<JobRow>(`/api/jobs/${row.id}/stop`);
    expect(stopped.status).toBe("running");
    expect(stopped.pid).toBe(running.pid);
    const after = await waitForJob(h, row.id, (r) => r.status === "stopped", "stopped");
    expect(after.stop).toBe(true);
    expect((await h.json<JobRow>(`/api/jobs/${row.id}/mark_stopped`)).pid).toBe(running.pid);
    expect((await h.job(row.id)).pid).toBeNull();
    const deleted = await h.json<JobRow>(`/api/jobs/${row.id}/delete`);
    expect(deleted.status).toBe("stopped");
    expect(await h.json(`/api/jobs?id=${row.id}`)).toBeNull();
    expect((await h.fetch(`/api/jobs/${row.id}/start`)).status).toBe(404);
    expect((await h.fetch(`/api/jobs/${row.id}/mark_stopped`)).status).toBe(500);
  });
});
