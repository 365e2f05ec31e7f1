import { describe, expect, it } from "vitest";
import { failureOf, JOB_ID, jobRow, json, ScriptedUi } from "./ui-scripted";
import { upstreamOn } from "./ui-upstream-helpers";

const OTHER_ID = "7a1c2a9e-5b7d-4e2a-9c1f-0a1b2c3d4e5f";
const THIRD_ID = "8a1c2a9e-5b7d-4e2a-9c1f-0a1b2c3d4e5f";
const queueOn = json({ id: 1, gpu_ids: "0", is_running: true });

describe("startRun", () => {
  it("queues the job and turns its queue on; next in line, it says the UI starts it", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json({ jobs: [jobRow()] }), json({ jobs: [jobRow({ status: "queued" })] }))
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow()))
      .on("GET /api/queue/0/start", queueOn);
    const started = await upstreamOn(ui).startRun("my_lora");
    expect(started).toMatchObject({ status: "queued", job_id: JOB_ID, queue_position: undefined });
    // A sentence of its own: start_training puts it after its "Started training ..." sentence.
    expect(started.note).toBe(
      "The training job my_lora is queued on GPU 0 and is next: ai-toolkit's UI starts it within seconds.",
    );
    expect(ui.callsTo(`GET /api/jobs/${JOB_ID}/start`)).toHaveLength(1);
    expect(ui.callsTo("GET /api/queue/0/start")).toHaveLength(1);
  });

  it("gives the place of a job queued behind a running one and another queued one", async () => {
    const running = jobRow({ id: OTHER_ID, name: "big_run", status: "running", queue_position: 1000 });
    const waiting = jobRow({ id: THIRD_ID, name: "next_run", status: "queued", queue_position: 2000 });
    const ui = new ScriptedUi()
      .on(
        "GET /api/jobs",
        json({ jobs: [jobRow(), running, waiting] }),
        json({ jobs: [jobRow({ status: "queued", queue_position: 3000 }), running, waiting] }),
      )
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow()))
      .on("GET /api/queue/0/start", queueOn);
    const started = await upstreamOn(ui).startRun("my_lora");
    expect(started).toMatchObject({ status: "queued", job_id: JOB_ID, queue_position: 2 });
    expect(started.note).toMatch(/place 2 of 2\): it waits for the job big_run and 1 queued before it/);
  });

  it("says a job that had trained before resumes from its checkpoint", async () => {
    const ui = new ScriptedUi()
      .on(
        "GET /api/jobs",
        json({ jobs: [jobRow({ step: 750 })] }),
        json({ jobs: [jobRow({ status: "running", pid: 42 })] }),
      )
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow()))
      .on("GET /api/queue/0/start", queueOn);
    const started = await upstreamOn(ui).startRun("my_lora");
    expect(started).toMatchObject({ status: "running", pid: 42 });
    expect(started.note).toMatch(/resumes it from its newest checkpoint \(it had reached step 750\)/);
  });

  it.each([
    ["running", /already running \(step 120\); it was not started again/],
    ["queued", /already queued; it was not started again/],
  ] as const)("does not start a %s job twice", async (status, note) => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs: [jobRow({ status, step: 120 })] }));
    const started = await upstreamOn(ui).startRun("my_lora");
    expect(started).toMatchObject({ status, job_id: JOB_ID });
    expect(started.note).toMatch(note);
    expect(ui.callsTo(`GET /api/jobs/${JOB_ID}/start`)).toHaveLength(0);
  });

  it("asks to wait for a stopping job", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs: [jobRow({ status: "stopping" })] }));
    const error = await failureOf(upstreamOn(ui).startRun("my_lora"));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/still stopping .*start it again once it has stopped/);
  });

  it("says a configuration it does not have is not found", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs: [jobRow()] }));
    const error = await failureOf(upstreamOn(ui).startRun("other"));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/not found/);
  });

  it("answers queued with a note when the row cannot be read back", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json({ jobs: [jobRow()] }), json({ jobs: [] }))
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow()))
      .on("GET /api/queue/0/start", queueOn);
    const started = await upstreamOn(ui).startRun("my_lora");
    expect(started).toMatchObject({ status: "queued", job_id: JOB_ID });
    expect(started.note).toMatch(/reading it back failed \(.*no longer lists job my_lora\)/);
  });
});

describe("stopRun", () => {
  it("stops a running job with the UI's stop", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json(jobRow({ status: "running", pid: 42 })))
      .on(`GET /api/jobs/${JOB_ID}/stop`, json(jobRow({ status: "running" })));
    await upstreamOn(ui).stopRun(JOB_ID);
    expect(ui.callsTo(`GET /api/jobs/${JOB_ID}/stop`)).toHaveLength(1);
  });

  it("takes a queued job out of its queue by marking it stopped", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json(jobRow({ status: "queued" })))
      .on(`GET /api/jobs/${JOB_ID}/mark_stopped`, json(jobRow({ status: "queued" })));
    await upstreamOn(ui).stopRun(JOB_ID);
    expect(ui.callsTo(`GET /api/jobs/${JOB_ID}/mark_stopped`)).toHaveLength(1);
    expect(ui.callsTo(`GET /api/jobs/${JOB_ID}/stop`)).toHaveLength(0);
  });

  it("sends no second stop to a job already stopping", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json(jobRow({ status: "stopping" })));
    await upstreamOn(ui).stopRun(JOB_ID);
    expect(ui.calls).toHaveLength(1);
  });

  it.each(["completed", "stopped", "error"] as const)(
    "says a %s job is not found or already stopped",
    async (status) => {
      const ui = new ScriptedUi().on("GET /api/jobs", json(jobRow({ status })));
      const error = await failureOf(upstreamOn(ui).stopRun(JOB_ID));
      expect(error.kind).toBe("tool");
      expect(error.message).toMatch(new RegExp(`not found or already stopped: .*my_lora is ${status}`));
      expect(ui.calls).toHaveLength(1);
    },
  );

  it("says an unknown id, a deleted job and a non-uuid are not found", async () => {
    const unknown = new ScriptedUi().on("GET /api/jobs", json(null));
    expect((await failureOf(upstreamOn(unknown).stopRun(JOB_ID))).message).toMatch(/not found .*no job with that id/);
    const deleted = new ScriptedUi()
      .on("GET /api/jobs", json(jobRow({ status: "running" })))
      .on(`GET /api/jobs/${JOB_ID}/stop`, json({ error: "Job not found" }, 404));
    expect((await failureOf(upstreamOn(deleted).stopRun(JOB_ID))).message).toMatch(/not found/);
    const nothing = new ScriptedUi();
    const error = await failureOf(upstreamOn(nothing).stopRun("../../etc"));
    expect(error).toMatchObject({ kind: "tool" });
    expect(error.message).toMatch(/not found .*uuids/);
    expect(nothing.calls).toHaveLength(0);
  });
});

describe("runLogs", () => {
  it("gives the newest lines, tqdm's \\r updates each a line, each ending in a newline", async () => {
    const log = "Loading model\nmy_lora: 1%| 1/100\rmy_lora: 2%| 2/100\r\nSaving\n";
    const ui = new ScriptedUi().on(`GET /api/jobs/${JOB_ID}/log`, json({ log, offset: log.length, reset: true }));
    const logs = await upstreamOn(ui).runLogs(JOB_ID, 3);
    expect(logs).toEqual({
      job_id: JOB_ID,
      logs: ["my_lora: 1%| 1/100\n", "my_lora: 2%| 2/100\n", "Saving\n"],
      total_lines: 4,
    });
    expect(new URL(ui.calls[0]!.url).search).toBe("");
  });

  it("leaves the total out when the answer is only the tail of a longer log", async () => {
    const ui = new ScriptedUi().on(
      `GET /api/jobs/${JOB_ID}/log`,
      json({ log: "a\nb", offset: 9_000_000, reset: true }),
    );
    await expect(upstreamOn(ui).runLogs(JOB_ID, 10)).resolves.toEqual({
      job_id: JOB_ID,
      logs: ["a\n", "b\n"],
      total_lines: undefined,
    });
  });

  it("says an unknown job is not found", async () => {
    const ui = new ScriptedUi().on(`GET /api/jobs/${JOB_ID}/log`, json({ error: "Job not found" }, 404));
    const error = await failureOf(upstreamOn(ui).runLogs(JOB_ID, 10));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/not found/);
  });
});

describe("listRuns", () => {
  it("lists every training job with its status and name", async () => {
    const ui = new ScriptedUi().on(
      "GET /api/jobs",
      json({
        jobs: [
          jobRow({ status: "running" }),
          jobRow({ id: OTHER_ID, name: "caps", job_type: "caption" }),
          jobRow({ id: THIRD_ID, name: "done", status: "completed" }),
        ],
      }),
    );
    await expect(upstreamOn(ui).listRuns()).resolves.toEqual([
      { job_id: JOB_ID, status: "running", config: "my_lora" },
      { job_id: THIRD_ID, status: "completed", config: "done" },
    ]);
  });
});
