import { describe, expect, it } from "vitest";
import { buildSeries, downsample, type HistoryPoint } from "../../../src/jobs/metrics";
import { nextPollDelay } from "../../../src/jobs/poll-schedule";
import { applyObservation, freshLines, newRecord, type JobRecord } from "../../../src/jobs/state";
import { viewOf } from "../../../src/jobs/view";
import { PREAMBLE, TRACEBACK, textModeLines, tqdmLog } from "./scripted-toolkit";

const T0 = Date.UTC(2026, 0, 1);
const settings = { intervalMs: 10_000, fastIntervalMs: 2_000, fastWindowMs: 60_000, maxBackoffMs: 300_000 };

function answer(status: string, log: string) {
  const lines = textModeLines(log);
  return { kind: "answer" as const, status, progress: 0, logs: lines.slice(-300), totalLines: lines.length };
}

/** Bars ai-toolkit draws before training starts: loading the model, caching latents. */
const CHECKPOINT_BARS =
  "Loading checkpoint shards:   0%|          | 0/3 [00:00<?, ?it/s]\rLoading checkpoint shards:  33%|###3  " +
  "    | 1/3 [00:02<00:04,  2.10s/it]\rLoading checkpoint shards: 100%|##########| 3/3 [00:06<00:00,  " +
  "2.00s/it]\n";
const LATENT_BARS =
  "Caching latents to disk:  50%|#####     | 10/20 [00:05<00:05,  2.00it/s]\rCaching latents to disk: " +
  "100%|##########| 20/20 [00:10<00:00,  2.00it/s]\n";

function fresh(): JobRecord {
  return newRecord({ jobId: "j1", config: "my_lora", createdAt: T0, totalSteps: 100 });
}

describe("job state machine", () => {
  it("starts queued, with its place, when the start left the job waiting behind another", () => {
    const waiting = newRecord({ jobId: "j2", config: "my_lora", createdAt: T0, queuePosition: 1 });
    expect(waiting).toMatchObject({ status: "queued", queuePosition: 1 });
    expect(viewOf(waiting, T0, { live: false, freshMs: 2_000 })).toMatchObject({ status: "queued", queue_position: 1 });
    expect(fresh()).toMatchObject({ status: "starting" });
    expect(fresh().queuePosition).toBeUndefined();
  });

  it("goes starting -> running -> completed with the numbers from the log", () => {
    let record = applyObservation(fresh(), answer("running", PREAMBLE), T0 + 1000).record;
    expect(record.status).toBe("starting");
    const log = PREAMBLE + tqdmLog("my_lora", 100, 0, 40, 10);
    const running = applyObservation(record, answer("running", log), T0 + 2000);
    record = running.record;
    expect(record).toMatchObject({
      status: "running",
      step: 40,
      totalSteps: 100,
      progress: 40,
      elapsedSeconds: 20,
      lr: 1e-4,
    });
    expect(record.losses.loss).toBeGreaterThan(0);
    expect(running.updates.map((u) => u.step)).toEqual([10, 20, 30, 40]);
    const done = applyObservation(
      record,
      answer("completed", log + tqdmLog("my_lora", 100, 50, 100, 10) + "\nSaved to /out/my_lora.safetensors\n"),
      T0 + 3000,
    );
    expect(done.record).toMatchObject({ status: "completed", step: 100, progress: 100, finishedAt: T0 + 3000 });
    // Only lines not seen at the previous poll count as new.
    expect(done.updates.map((u) => u.step)).toEqual([50, 60, 70, 80, 90, 100]);
  });

  it("fails a run whose log shows a traceback, keeping the excerpt", () => {
    const log = tqdmLog("my_lora", 100, 0, 30, 10) + "\n" + TRACEBACK;
    const { record } = applyObservation(fresh(), answer("completed", log), T0);
    expect(record.status).toBe("failed");
    expect(record.reason).toContain("torch.OutOfMemoryError");
    expect(record.traceback).toContain("Traceback (most recent call last):");
  });

  it("takes step and total only from the training bar, so a run killed after loading is failed", () => {
    const record = newRecord({ jobId: "j1", config: "my_lora", createdAt: T0, totalSteps: 1000 });
    const loading = PREAMBLE + CHECKPOINT_BARS + LATENT_BARS;
    const started = applyObservation(record, answer("running", loading), T0 + 1000).record;
    expect(started).toMatchObject({ status: "starting", step: 0, totalSteps: 1000, progress: 0 });
    const { record: dead } = applyObservation(started, answer("completed", `${loading}Killed\n`), T0 + 2000);
    expect(dead).toMatchObject({ status: "failed", step: 0, totalSteps: 1000, progress: 0 });
    expect(dead.reason).toContain("before logging any training step");
  });

  it("keeps the training step while another bar (sampling) is drawn after it", () => {
    const log =
      PREAMBLE +
      CHECKPOINT_BARS +
      tqdmLog("my_lora", 1000, 0, 250, 50) +
      "\nGenerating Images: 100%|##########| 4/4 [00:08<00:00,  2.00s/it]\n";
    const { record, updates } = applyObservation(fresh(), answer("running", log), T0);
    expect(record).toMatchObject({ status: "running", step: 250, totalSteps: 1000, progress: 25 });
    expect(updates.map((u) => u.step)).toEqual([50, 100, 150, 200, 250]);
  });

  it("recognises the training bar by the name inside the config when it differs from the config's", () => {
    const record = newRecord({ jobId: "j1", config: "file_name", jobName: "run_name", createdAt: T0, totalSteps: 100 });
    const log = CHECKPOINT_BARS + tqdmLog("run_name", 100, 0, 30, 10);
    expect(applyObservation(record, answer("running", log), T0).record).toMatchObject({ step: 30, totalSteps: 100 });
  });

  it("fails a run whose process ended before the last step", () => {
    const { record } = applyObservation(fresh(), answer("completed", tqdmLog("my_lora", 100, 0, 60, 10)), T0);
    expect(record.status).toBe("failed");
    expect(record.reason).toContain("step 60 of 100");
  });

  it("turns lost when the toolkit forgets a running job, keeping what was known", () => {
    const running = applyObservation(fresh(), answer("running", tqdmLog("my_lora", 100, 0, 40, 10)), T0).record;
    const { record } = applyObservation(running, { kind: "not_found" }, T0 + 5000);
    expect(record).toMatchObject({ status: "lost", step: 40, progress: 40 });
    expect(record.reason).toContain("restarted");
    expect(viewOf(record, T0 + 6000, { live: false, freshMs: 2000 }).notice).toContain("job lost");
  });

  it("keeps the last known state while unreachable, with its age, and backs off", () => {
    const running = applyObservation(fresh(), answer("running", tqdmLog("my_lora", 100, 0, 40, 10)), T0).record;
    let record = running;
    const delays: (number | undefined)[] = [];
    for (let i = 1; i <= 6; i++) {
      record = applyObservation(
        record,
        { kind: "unreachable", message: "the toolkit could not be reached" },
        T0 + 120_000 * i,
      ).record;
      delays.push(nextPollDelay(record, T0 + 120_000 * i, settings));
    }
    expect(record).toMatchObject({ status: "running", step: 40, unreachableSince: T0 + 120_000, failedPolls: 6 });
    expect(delays).toEqual([20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    const view = viewOf(record, T0 + 730_000, { live: false, freshMs: 2000 });
    expect(view.freshness).toBe("stale");
    expect(view.age_seconds).toBe(730);
    expect(view.notice).toContain(`toolkit unreachable since ${new Date(T0 + 120_000).toISOString()}`);
    const back = applyObservation(record, answer("running", tqdmLog("my_lora", 100, 0, 50, 10)), T0 + 800_000).record;
    expect(back).toMatchObject({ status: "running", step: 50, failedPolls: 0 });
    expect(back.unreachableSince).toBeUndefined();
  });

  it("gives a job up as lost after the toolkit stays unreachable too long, and takes it back when it answers", () => {
    const rules = { giveUpAfterMs: 3_600_000 };
    const down = { kind: "unreachable" as const, message: "the toolkit could not be reached" };
    let record = applyObservation(fresh(), answer("running", tqdmLog("my_lora", 100, 0, 40, 10)), T0, rules).record;
    record = applyObservation(record, down, T0 + 60_000, rules).record;
    record = applyObservation(record, down, T0 + 60_000 + 3_599_999, rules).record;
    expect(record.status).toBe("running");
    record = applyObservation(record, down, T0 + 60_000 + 3_600_000, rules).record;
    expect(record).toMatchObject({
      status: "lost",
      step: 40,
      progress: 40,
      unreachableSince: T0 + 60_000,
      finishedAt: T0 + 3_660_000,
    });
    expect(record.reason).toContain(`unreachable since ${new Date(T0 + 60_000).toISOString()}`);
    expect(record.losses.loss).toBeGreaterThan(0);
    expect(nextPollDelay(record, T0 + 3_660_000, settings)).toBeUndefined();
    // Still down when asked again: still lost, same reason.
    expect(applyObservation(record, down, T0 + 4_000_000, rules).record).toMatchObject({
      status: "lost",
      reason: record.reason,
    });
    const back = applyObservation(
      record,
      answer("running", tqdmLog("my_lora", 100, 0, 70, 10)),
      T0 + 5_000_000,
      rules,
    ).record;
    expect(back).toMatchObject({ status: "running", step: 70 });
    expect(back.reason ?? back.finishedAt ?? back.gaveUpAt).toBeUndefined();
    expect(applyObservation(record, { kind: "not_found" }, T0 + 5_000_000, rules).record.reason).toContain("restarted");
  });

  it("polls fast right after the start, then steadily, and not at all once finished", () => {
    const record = fresh();
    expect(nextPollDelay(record, T0 + 5_000, settings)).toBe(2_000);
    expect(nextPollDelay(record, T0 + 90_000, settings)).toBe(10_000);
    expect(nextPollDelay({ ...record, status: "completed" }, T0 + 90_000, settings)).toBeUndefined();
    expect(nextPollDelay({ ...record, status: "lost" }, T0 + 90_000, settings)).toBeUndefined();
  });

  it("records a stop the Worker asked for as stopped", () => {
    const running = applyObservation(fresh(), answer("running", tqdmLog("my_lora", 100, 0, 40, 10)), T0).record;
    const { record } = applyObservation(
      { ...running, stoppedBy: "owner", stoppedAt: T0 + 1 },
      answer("stopped", tqdmLog("my_lora", 100, 0, 40, 10)),
      T0 + 2,
    );
    expect(record).toMatchObject({ status: "stopped", stoppedBy: "owner", stoppedAt: T0 + 1 });
  });

  it("counts new log lines from total_lines", () => {
    expect(freshLines(["a", "b", "c"], 10, 8)).toEqual(["b", "c"]);
    expect(freshLines(["a", "b", "c"], 10, 10)).toEqual([]);
    expect(freshLines(["a", "b"], 2, 5)).toEqual(["a", "b"]);
    expect(freshLines(["a", "b"], undefined, 5)).toEqual(["a", "b"]);
  });
});

describe("metrics", () => {
  const history: HistoryPoint[] = Array.from({ length: 1000 }, (_, i) => ({
    step: (i + 1) * 10,
    at: T0,
    losses: { loss: 1 / (i + 1), ...(i % 2 === 0 ? { prior_loss: 0.5 } : {}) },
  }));

  it("downsamples to the requested number of points, per term", () => {
    const points = downsample(history, 50);
    expect(points).toHaveLength(50);
    expect(points[49]?.step).toBe(10_000);
    expect(points[0]?.losses.prior_loss).toBe(0.5);
  });

  it("summarises each term with min, last and trend", () => {
    const series = buildSeries(history, 20);
    expect(series.terms).toEqual(["loss", "prior_loss"]);
    expect(series.summary.loss).toMatchObject({ min: 0.001, min_step: 10_000, last: 0.001, trend: "falling" });
    expect(series.summary.prior_loss?.trend).toBe("flat");
  });
});
