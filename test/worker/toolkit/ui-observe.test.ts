import { describe, expect, it } from "vitest";
import type { Observation, RunCursor, RunReport } from "../../../src/jobs/state";
import { UiClient } from "../../../src/toolkit/ui/client";
import { LOG_GAP_MS } from "../../../src/toolkit/ui/observe-log";
import { LOSS_POINTS_PER_POLL, observeUiRun, ordinal, UI_STUCK_AFTER_MS } from "../../../src/toolkit/ui/observe";
import type { UiJob } from "../../../src/toolkit/ui/schemas";
import { hang, JOB_ID, jobRow, json, ScriptedUi, stallingBody } from "./ui-scripted";

const T0 = Date.UTC(2026, 0, 1, 12);
const OPTIONS = { timeoutMs: 300, retry: false };

/**
 * ai-toolkit's UI with one job whose row, loss log and log.txt the test changes between polls;
 * the routes answer as the UI's do (see tunnel/ui-toolkit/job-files.ts and loss-log.ts).
 */
class FakeUi {
  readonly ui = new ScriptedUi();
  row: UiJob = jobRow({ status: "running", step: 0, info: "Starting job" });
  others: UiJob[] = [];
  /** Per metric key, points in step order. */
  loss = new Map<string, Array<{ step: number; value: number | null }>>();
  log = "";

  constructor() {
    this.ui.on("GET /api/jobs", (request) => {
      const id = new URL(request.url).searchParams.get("id");
      if (id !== null) return Response.json(id === this.row.id ? this.row : null);
      return Response.json({ jobs: [...this.others, this.row] });
    });
    this.ui.on(`GET /api/jobs/${JOB_ID}/loss`, (request) => {
      const params = new URL(request.url).searchParams;
      const key = params.get("key") ?? "";
      const since = params.get("since_step");
      const stride = Number(params.get("stride") ?? 1);
      const limit = Number(params.get("limit") ?? 2000);
      const points = (this.loss.get(key) ?? [])
        .filter((p) => (since === null || p.step > Number(since)) && p.step % stride === 0)
        .slice(0, limit)
        .map((p) => ({ ...p, wall_time: p.step }));
      return Response.json({ key, keys: [...this.loss.keys()].sort(), points });
    });
    this.ui.on(`GET /api/jobs/${JOB_ID}/log`, (request) => {
      const param = new URL(request.url).searchParams.get("offset");
      const offset = param === null ? NaN : Number(param);
      const size = this.log.length; // ASCII only: characters are bytes
      if (Number.isNaN(offset) || offset > size) return Response.json({ log: this.log, offset: size, reset: true });
      return Response.json({ log: this.log.slice(offset), offset: size, reset: false });
    });
  }

  client(timeoutMs = 1000): UiClient {
    return new UiClient(this.ui, { timeoutMs, gpuIds: "0" });
  }

  logLoss(from: number, to: number, keys = ["loss/loss", "learning_rate"]): void {
    for (const key of keys) {
      const points = this.loss.get(key) ?? [];
      for (let step = from; step <= to; step++)
        points.push({ step, value: key === "learning_rate" ? 1e-4 : 1 / (step + 1) });
      this.loss.set(key, points);
    }
  }

  queries(path: "loss" | "log"): URLSearchParams[] {
    return this.ui.callsTo(`GET /api/jobs/${JOB_ID}/${path}`).map((request) => new URL(request.url).searchParams);
  }
}

type Answer = Extract<Observation, { kind: "answer" }>;

function answered(observation: Observation): Answer & { report: RunReport; cursor: RunCursor } {
  expect(observation.kind).toBe("answer");
  const answer = observation as Answer;
  expect(answer.report).toBeDefined();
  expect(answer.cursor).toBeDefined();
  return answer as Answer & { report: RunReport; cursor: RunCursor };
}

describe("observeUiRun", () => {
  it("reports a queued job's place in its GPU's queue without reading its log or loss", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "queued", queue_position: 3000 });
    fake.others = [
      jobRow({ id: "00000000-0000-4000-8000-000000000001", name: "running_one", status: "running" }),
      jobRow({
        id: "00000000-0000-4000-8000-000000000002",
        name: "first_in_line",
        status: "queued",
        queue_position: 2000,
      }),
      jobRow({ id: "00000000-0000-4000-8000-000000000003", name: "other_gpu", status: "queued", gpu_ids: "1" }),
    ];
    const seen = { logOffset: 40, lossStep: 7 };
    const answer = answered(await observeUiRun(fake.client(), JOB_ID, seen, OPTIONS, T0));
    expect(answer).toMatchObject({ status: "queued", config: "my_lora", logs: [], progress: 0 });
    expect(answer.report).toMatchObject({
      status: "queued",
      queuePosition: 2,
      phase: "2nd in line on GPU 0 (running_one is running there)",
      totalSteps: 2000,
    });
    expect(answer.cursor).toMatchObject(seen);
    expect(fake.queries("log")).toHaveLength(0);
    expect(fake.queries("loss")).toHaveLength(0);
  });

  it("reads only the loss points after the cursor's step, across two polls", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 10, info: "Training", speed_string: "2.00 iter/sec" });
    fake.logLoss(1, 10);
    const first = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    expect(first.report).toMatchObject({ step: 10, totalSteps: 2000, rate: 2, remainingSeconds: 995, lr: 1e-4 });
    expect(first.report.history.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first.report.losses).toEqual({ loss: 1 / 11 });
    expect(first.cursor.lossStep).toBe(10);

    fake.logLoss(11, 15);
    fake.row = { ...fake.row, step: 15 };
    const second = answered(await observeUiRun(fake.client(), JOB_ID, first.cursor, OPTIONS, T0 + 10_000));
    expect(second.report.history).toEqual(
      [11, 12, 13, 14, 15].map((step) => ({ step, losses: { loss: 1 / (step + 1) } })),
    );
    expect(second.cursor.lossStep).toBe(15);
    const sinceSteps = fake.queries("loss").map((q) => q.get("since_step"));
    // lossKeys (no since_step), then loss and lr; the second poll asks from step 10 on.
    expect(sinceSteps).toEqual([null, null, null, null, "10", "10"]);

    // Nothing new: nothing read again, the last values stay with the caller.
    const third = answered(await observeUiRun(fake.client(), JOB_ID, second.cursor, OPTIONS, T0 + 20_000));
    expect(third.report.history).toEqual([]);
    expect(third.report.losses).toEqual({});
    expect(third.cursor.lossStep).toBe(15);
  });

  it("keeps a poll's loss reading bounded and thins a long run to reach its newest step", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 10_000, info: "Training" });
    fake.logLoss(1, 10_000, ["loss/loss", "loss/diff_loss", "learning_rate"]);
    const answer = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    const points = answer.report.history.length;
    expect(points).toBeGreaterThan(100);
    expect(points).toBeLessThanOrEqual(LOSS_POINTS_PER_POLL);
    expect(answer.report.history.at(-1)?.step).toBeGreaterThan(9_900);
    expect(answer.report.losses).toMatchObject({ loss: expect.any(Number), diff_loss: expect.any(Number) });
    for (const query of fake.queries("loss").slice(1))
      expect(Number(query.get("limit"))).toBeLessThanOrEqual(LOSS_POINTS_PER_POLL / 3);
  });

  it("cuts every metric at the same step when one filled its limit, so no point is skipped", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 10, info: "Training" });
    // Logged far ahead of the row's step (the row is written less often than the loss); one term
    // at every step, the other at every 10th.
    fake.logLoss(1, 1500, ["loss/loss"]);
    fake.loss.set(
      "loss/diff_loss",
      Array.from({ length: 150 }, (_, i) => ({ step: 10 * (i + 1), value: 0.5 })),
    );
    const answer = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    expect(answer.cursor.lossStep).toBe(1000);
    expect(answer.report.history.at(-1)).toEqual({ step: 1000, losses: { loss: 1 / 1001, diff_loss: 0.5 } });
    const next = answered(await observeUiRun(fake.client(), JOB_ID, answer.cursor, OPTIONS, T0 + 1000));
    expect(next.report.history.map((p) => p.step)).toEqual(Array.from({ length: 500 }, (_, i) => 1001 + i));
  });

  it("reads the log from the cursor's offset, splits tqdm redraws and holds an unfinished line", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 2, info: "Training" });
    fake.log = "Loading model\nmy_lora:   0%| | 1/2000\rmy_lora:   0%| | 2/2000\r";
    const first = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    expect(first.logs).toEqual(["Loading model", "my_lora:   0%| | 1/2000", "my_lora:   0%| | 2/2000"]);
    expect(first.cursor.logOffset).toBe(fake.log.length);

    fake.log += "Saving at step 2\nhalf a li";
    const second = answered(await observeUiRun(fake.client(), JOB_ID, first.cursor, OPTIONS, T0 + 1000));
    expect(second.logs).toEqual(["Saving at step 2"]);
    expect(fake.queries("log")[1]?.get("offset")).toBe(String(first.cursor.logOffset));
    fake.log += "ne\n";
    const third = answered(await observeUiRun(fake.client(), JOB_ID, second.cursor, OPTIONS, T0 + 2000));
    expect(third.logs).toEqual(["half a line"]);
  });

  it("reports how long the job's own training bar has run, from the newest such line", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 5, info: "Training" });
    fake.log =
      "Loading checkpoint shards: 100%|##########| 3/3 [00:42<00:00,  2.00s/it]\n" +
      "my_lora:   0%|          | 4/2000 [01:05<8:00:00,  1.50s/it, lr: 1.0e-04 loss: 3.1e-01]\r" +
      "my_lora:   0%|          | 5/2000 [01:07<8:00:00,  1.50s/it, lr: 1.0e-04 loss: 3.0e-01]\r";
    const first = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    expect(first.report.elapsedSeconds).toBe(67);

    // A poll with no new line of that bar (another bar, or nothing) leaves it unknown, not zero.
    fake.log += "Caching latents to disk: 100%|##########| 20/20 [00:10<00:00,  2.00it/s]\n";
    const second = answered(await observeUiRun(fake.client(), JOB_ID, first.cursor, OPTIONS, T0 + 1000));
    expect(second.report.elapsedSeconds).toBeUndefined();
  });

  it("takes the fresh tail when the UI resets the log (replaced, or the Worker was away long)", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 2, info: "Training" });
    fake.log = "old line one\nold line two\n";
    const first = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    fake.log = "new run\n";
    const replaced = answered(await observeUiRun(fake.client(), JOB_ID, first.cursor, OPTIONS, T0 + 1000));
    expect(replaced.logs).toEqual(["new run"]);
    expect(replaced.cursor.logOffset).toBe(8);

    fake.log += "x".repeat(50) + "\nlatest\n";
    const later = T0 + 1000 + LOG_GAP_MS + 1;
    const away = answered(await observeUiRun(fake.client(), JOB_ID, replaced.cursor, OPTIONS, later));
    expect(fake.queries("log").at(-1)?.get("offset")).toBeNull();
    expect(away.logs.at(-1)).toBe("latest");
  });

  it("bounds the lines and their length kept from one poll", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 2, info: "Training" });
    fake.log = Array.from({ length: 3000 }, (_, i) => `line ${i}`).join("\n") + "\n" + "y".repeat(100_000) + "\n";
    const answer = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    expect(answer.logs.length).toBeLessThanOrEqual(500);
    expect(answer.logs.at(-2)).toBe("line 2999");
    expect(answer.logs.at(-1)?.length).toBeLessThan(3000);
  });

  it("reports a failed run with the trainer's message and the log's traceback seen at an earlier poll", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 30, info: "Training" });
    fake.log =
      'my_lora:   1%| | 30/2000\nTraceback (most recent call last):\n  File "run.py", line 1\n' +
      "torch.OutOfMemoryError: CUDA out of memory\n";
    const first = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    fake.row = { ...fake.row, status: "error", info: "CUDA out of memory" };
    const failed = answered(await observeUiRun(fake.client(), JOB_ID, first.cursor, OPTIONS, T0 + 1000));
    expect(failed.logs).toEqual([]);
    expect(failed.report).toMatchObject({ status: "error", error: "CUDA out of memory", step: 30 });
    expect(failed.report.logTail).toContain("torch.OutOfMemoryError: CUDA out of memory");
    expect(fake.queries("log").at(-1)?.get("offset")).toBe("0");
  });

  it("answers not_found for a job the UI does not have, or an id it cannot have", async () => {
    const fake = new FakeUi();
    const other = "11111111-2222-4333-8444-555555555555";
    expect(await observeUiRun(fake.client(), other, undefined, OPTIONS, T0)).toEqual({ kind: "not_found" });
    expect(await observeUiRun(fake.client(), "../etc/passwd", undefined, OPTIONS, T0)).toEqual({ kind: "not_found" });
    expect(fake.ui.calls).toHaveLength(1);
  });

  it("answers unreachable when the UI cannot be reached or answers something else", async () => {
    const down = new ScriptedUi().on("GET /api/jobs", new TypeError("fetch failed: ECONNREFUSED"));
    const observation = await observeUiRun(
      new UiClient(down, { timeoutMs: 300, gpuIds: "0" }),
      JOB_ID,
      undefined,
      OPTIONS,
      T0,
    );
    expect(observation).toMatchObject({ kind: "unreachable", message: expect.stringMatching(/tunnel|reach/i) });

    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 5, info: "Training" });
    fake.ui.on(`GET /api/jobs/${JOB_ID}/loss`, json({ error: "Internal error" }, 500));
    expect((await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0)).kind).toBe("unreachable");
  });

  it("answers unreachable within the time-out when the UI stalls mid-answer or never answers", async () => {
    for (const answer of [
      () => new Response(stallingBody('{"log":"Loading'), { headers: { "content-type": "application/json" } }),
      hang,
    ]) {
      const fake = new FakeUi();
      fake.row = jobRow({ status: "running", step: 5, info: "Training" });
      fake.ui.on(`GET /api/jobs/${JOB_ID}/log`, answer);
      const started = Date.now();
      const observation = await observeUiRun(fake.client(300), JOB_ID, undefined, OPTIONS, T0);
      expect(observation).toMatchObject({ kind: "unreachable", message: expect.stringMatching(/300 ms|0\.3 s/) });
      expect(Date.now() - started).toBeLessThan(2000);
    }
  });

  it("calls a running row stuck once nothing has moved for long, and not while it moves", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 40, info: "Training", speed_string: "1.00 iter/sec" });
    fake.log = "step 40\n";
    let cursor = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0)).cursor;
    const half = answered(await observeUiRun(fake.client(), JOB_ID, cursor, OPTIONS, T0 + UI_STUCK_AFTER_MS / 2));
    expect(half.report.stuck).toBeUndefined();
    cursor = half.cursor;
    // Only the log moved: the trainer is alive (a model loader draws its own bars).
    fake.log += "Loading shard 2/3\n";
    const later = T0 + UI_STUCK_AFTER_MS + 60_000;
    const moved = answered(await observeUiRun(fake.client(), JOB_ID, cursor, OPTIONS, later));
    expect(moved.report.stuck).toBeUndefined();
    const still = later + UI_STUCK_AFTER_MS + 60_000;
    const stuck = answered(await observeUiRun(fake.client(), JOB_ID, moved.cursor, OPTIONS, still));
    expect(stuck.report.stuck).toMatch(/Mark as stopped.*stop_training/);
    fake.row = { ...fake.row, step: 41 };
    const again = answered(await observeUiRun(fake.client(), JOB_ID, stuck.cursor, OPTIONS, still + 1000));
    expect(again.report.stuck).toBeUndefined();
  });

  it("works with a row whose job_config is not readable (total unknown)", async () => {
    const fake = new FakeUi();
    fake.row = jobRow({ status: "running", step: 7, info: "Loading model", job_config: "{not json" });
    const answer = answered(await observeUiRun(fake.client(), JOB_ID, undefined, OPTIONS, T0));
    expect(answer.report).toMatchObject({ step: 7, totalSteps: undefined, phase: "loading model" });
    expect(answer.progress).toBe(0);
  });
});

describe("ordinal", () => {
  it.each([
    [1, "1st"],
    [2, "2nd"],
    [3, "3rd"],
    [4, "4th"],
    [11, "11th"],
    [12, "12th"],
    [13, "13th"],
    [21, "21st"],
    [112, "112th"],
  ])("%d is %s", (n, text) => expect(ordinal(n)).toBe(text));
});
