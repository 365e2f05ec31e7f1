import { describe, expect, it } from "vitest";
import {
  jobFacts,
  observeMovement,
  parseSpeed,
  phaseOf,
  queuePlace,
  stuckVerdict,
} from "../../../src/toolkit/ui/progress";
import { jobRow } from "./ui-scripted";

describe("jobFacts", () => {
  it.each([
    ["queued", "queued"],
    ["running", "running"],
    ["stopping", "running"],
    ["stopped", "stopped"],
    ["completed", "completed"],
    ["error", "failed"],
  ] as const)("maps the UI's %s to %s", (uiStatus, status) => {
    expect(jobFacts(jobRow({ status: uiStatus })).status).toBe(status);
  });

  it("takes the total from the job config, since total_steps stays null", () => {
    const facts = jobFacts(jobRow({ status: "running", step: 500, info: "Training", speed_string: "2.00 iter/sec" }));
    expect(facts).toMatchObject({
      step: 500,
      totalSteps: 2000,
      progress: 25,
      rate: 2,
      secondsPerStep: 0.5,
      remainingSeconds: 750,
      phase: { kind: "training" },
    });
    expect(jobFacts(jobRow({ total_steps: 100, step: 50 })).totalSteps).toBe(100);
    expect(jobFacts(jobRow({ job_config: "not json" })).totalSteps).toBeNull();
    expect(jobFacts(jobRow({ status: "completed", step: 1999 })).progress).toBe(100);
  });
});

describe("phaseOf", () => {
  const running = (info: string, stop = false) => phaseOf({ status: "running", info, stop });

  it.each([
    ["Starting job...", { kind: "starting" }],
    ["Loading model", { kind: "loading_model" }],
    ["Loading dataset", { kind: "loading_dataset" }],
    ["Training", { kind: "training" }],
    ["Generating images - 2/4", { kind: "sampling", done: 2, total: 4 }],
    ["Saving model", { kind: "saving" }],
    ["Training completed", { kind: "completed" }],
    ["Loading transformer", { kind: "other" }],
  ])("reads %j", (info, phase) => {
    expect(running(info)).toEqual(phase);
  });

  it("reads the stop flag and the error message", () => {
    expect(running("Training", true)).toEqual({ kind: "stopping" });
    expect(phaseOf({ status: "error", info: "CUDA out of memory", stop: false })).toEqual({
      kind: "error",
      message: "CUDA out of memory",
    });
    expect(phaseOf({ status: "error", info: "", stop: false })).toMatchObject({
      kind: "error",
      message: expect.stringMatching(/read the job's log/),
    });
  });
});

describe("parseSpeed", () => {
  it.each([
    ["9.69 iter/sec", 9.69, 1 / 9.69],
    ["2.50 sec/iter", 0.4, 2.5],
    ["4.00 s/iter", 0.25, 4],
    ["1.44it/s", 1.44, 1 / 1.44],
    ["3.2 s/it", 1 / 3.2, 3.2],
  ])("reads %j", (text, rate, secondsPerStep) => {
    const speed = parseSpeed(text);
    expect(speed?.rate).toBeCloseTo(rate);
    expect(speed?.secondsPerStep).toBeCloseTo(secondsPerStep);
  });

  it("ignores empty and unknown strings", () => {
    expect(parseSpeed("")).toBeUndefined();
    expect(parseSpeed("fast")).toBeUndefined();
    expect(parseSpeed("0.00 iter/sec")).toBeUndefined();
  });
});

describe("queuePlace", () => {
  it("ranks a queued job among the queued jobs of its GPU by queue_position", () => {
    const job = jobRow({ status: "queued", queue_position: 5000 });
    const jobs = [
      job,
      jobRow({ id: "a", status: "queued", queue_position: 3000 }),
      jobRow({ id: "b", status: "queued", queue_position: 4000, gpu_ids: "1" }),
      jobRow({ id: "c", name: "busy", status: "running", queue_position: 1000 }),
      jobRow({ id: "d", status: "queued", queue_position: 9000 }),
    ];
    expect(queuePlace(job, jobs)).toEqual({ position: 2, queued: 3, runningJob: "busy" });
    expect(queuePlace(jobRow({ status: "running" }), jobs)).toBeNull();
  });
});

describe("stuckVerdict", () => {
  const t0 = Date.parse("2026-01-01T12:00:00Z");

  it("is stuck only when a running row has not moved for longer than the threshold", () => {
    const row = jobRow({ status: "running", step: 120, info: "Training", speed_string: "1.00 iter/sec" });
    let movement = observeMovement(undefined, row, t0);
    movement = observeMovement(movement, row, t0 + 5 * 60_000);
    expect(stuckVerdict(row, movement, { now: t0 + 5 * 60_000, thresholdMs: 10 * 60_000 })).toEqual({ stuck: false });

    const verdict = stuckVerdict(row, movement, { now: t0 + 15 * 60_000, thresholdMs: 10 * 60_000 });
    expect(verdict).toMatchObject({ stuck: true, stillForMs: 15 * 60_000 });
    if (verdict.stuck) expect(verdict.message).toMatch(/step \(120\).*not changed for 15 min.*mark the job stopped/);

    const moved = observeMovement(movement, { ...row, step: 121 }, t0 + 15 * 60_000);
    expect(stuckVerdict({ ...row, step: 121 }, moved, { now: t0 + 16 * 60_000, thresholdMs: 10 * 60_000 })).toEqual({
      stuck: false,
    });
  });

  it("counts the UI's own writes as movement, and never calls a finished job stuck", () => {
    const row = jobRow({ status: "running", updated_at: new Date(t0 + 9 * 60_000).toISOString() });
    const movement = observeMovement(
      { fingerprint: JSON.stringify(["running", 0, "", ""]), step: 0, movedAt: t0 },
      row,
      t0 + 12 * 60_000,
    );
    expect(movement.movedAt).toBe(t0 + 9 * 60_000);
    expect(stuckVerdict(jobRow({ status: "completed" }), movement, { now: t0 + 60 * 60_000, thresholdMs: 1 })).toEqual({
      stuck: false,
    });
  });
});
