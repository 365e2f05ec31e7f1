import { describe, expect, it } from "vitest";
import { applyObservation, newRecord, type JobRecord, type Observation, type RunReport } from "../../../src/jobs/state";
import { describeJob, viewOf } from "../../../src/jobs/view";
import { TRACEBACK } from "./scripted-toolkit";

const T0 = Date.UTC(2026, 0, 1);

function fresh(): JobRecord {
  return newRecord({ jobId: "j1", config: "my_lora", createdAt: T0, totalSteps: 2000 });
}

/** An answer of an upstream that reports its runs (ai-toolkit's UI). */
function reported(report: Partial<RunReport> & { status: string }, logs: string[] = [], progress = 0): Observation {
  return {
    kind: "answer",
    status: report.status,
    progress,
    config: "my_lora",
    logs,
    report: { step: 0, losses: {}, history: [], ...report },
    cursor: { logOffset: 10 },
  };
}

const view = (record: JobRecord) => viewOf(record, T0 + 1000, { live: true, freshMs: 60_000 });

describe("job state with a report", () => {
  it("is queued with its place in line, and says so", () => {
    const { record } = applyObservation(
      fresh(),
      reported({ status: "queued", queuePosition: 2, phase: "2nd in line on GPU 0", totalSteps: 2000 }),
      T0,
    );
    expect(record).toMatchObject({ status: "queued", queuePosition: 2, cursor: { logOffset: 10 } });
    expect(view(record)).toMatchObject({ status: "queued", queue_position: 2, phase: "2nd in line on GPU 0" });
    expect(describeJob(view(record))).toContain("is queued, 2nd in line on GPU 0");
  });

  it("keeps the elapsed time the report gave until a later one gives another", () => {
    let { record } = applyObservation(fresh(), reported({ status: "running", step: 5, elapsedSeconds: 67 }), T0);
    expect(view(record).elapsed_seconds).toBe(67);
    record = applyObservation(record, reported({ status: "running", step: 6 }), T0 + 500).record;
    expect(view(record).elapsed_seconds).toBe(67);
    record = applyObservation(record, reported({ status: "running", step: 9, elapsedSeconds: 70 }), T0 + 900).record;
    expect(view(record).elapsed_seconds).toBe(70);
  });

  it("takes step, total, rate, lr, losses and history from the report, not the log", () => {
    const history = [
      { step: 99, losses: { loss: 0.5 } },
      { step: 100, losses: { loss: 0.4 } },
    ];
    const log = ["my_lora:  50%|#####     | 1000/2000 [05:00<05:00,  3.33it/s, lr: 1.0e-03 loss: 9.000e+00]"];
    const outcome = applyObservation(
      fresh(),
      reported(
        {
          status: "running",
          step: 100,
          totalSteps: 2000,
          rate: 2,
          remainingSeconds: 950,
          phase: "loading model",
          lr: 1e-4,
          losses: { loss: 0.4 },
          history,
        },
        log,
        5,
      ),
      T0,
    );
    expect(outcome.record).toMatchObject({
      status: "running",
      step: 100,
      totalSteps: 2000,
      progress: 5,
      rate: 2,
      remainingSeconds: 950,
      lr: 1e-4,
      losses: { loss: 0.4 },
      phase: "loading model",
    });
    expect(outcome.updates).toEqual(history);
    expect(outcome.newSegments).toEqual(log);
    expect(describeJob(view(outcome.record))).toContain("is running: loading model, step 100/2000 (5%)");

    // A poll without new loss points keeps the last known values.
    const quiet = applyObservation(outcome.record, reported({ status: "running", step: 101 }), T0 + 1000).record;
    expect(quiet).toMatchObject({ step: 101, losses: { loss: 0.4 }, lr: 1e-4 });
    expect(quiet.rate).toBeUndefined();
  });

  it("turns stuck with what to do, and back to running once the row moves", () => {
    const stuckWords =
      "ai-toolkit's UI says job my_lora is running, but ... mark the job stopped (the UI's \"Mark as stopped\") " +
      "to free the queue of GPU 0; or call stop_training for this job";
    const running = applyObservation(fresh(), reported({ status: "running", step: 40 }), T0).record;
    const stuck = applyObservation(
      running,
      reported({ status: "running", step: 40, stuck: stuckWords }),
      T0 + 1,
    ).record;
    expect(stuck).toMatchObject({ status: "stuck", stuck: stuckWords });
    expect(view(stuck).stuck).toBe(stuckWords);
    const text = describeJob(view(stuck));
    expect(text).toContain("is stuck");
    expect(text).toMatch(/Stuck: .*Mark as stopped.*stop_training/);
    const again = applyObservation(stuck, reported({ status: "running", step: 41 }), T0 + 2).record;
    expect(again.status).toBe("running");
    expect(again.stuck).toBeUndefined();
    expect(view(again).stuck).toBeNull();
  });

  it("fails an errored run with the trainer's message and the traceback of the log's tail", () => {
    const logTail = TRACEBACK.split("\n").filter((line) => line.trim() !== "");
    const { record } = applyObservation(
      fresh(),
      reported({ status: "error", step: 30, error: "CUDA out of memory", logTail }),
      T0,
    );
    expect(record).toMatchObject({ status: "failed", finishedAt: T0 });
    expect(record.reason).toMatch(/^the trainer stopped with an error at step 30: CUDA out of memory/);
    expect(record.reason).toContain("get_training_logs");
    expect(record.traceback).toContain("Traceback (most recent call last):");
  });

  it("quotes the log's last lines when an errored run's log has no traceback", () => {
    const { record } = applyObservation(
      fresh(),
      reported({ status: "error", step: 0, error: "" }, ["Loading model", "Killed"]),
      T0,
    );
    expect(record.status).toBe("failed");
    expect(record.reason).toContain("gave no message");
    expect(record.reason).toContain("the log ends with: Loading model | Killed");
    expect(record.traceback).toBeUndefined();
  });

  it("trusts completed even before the last step, and stopped as stopped", () => {
    const done = applyObservation(
      fresh(),
      reported({ status: "completed", step: 1990, totalSteps: 2000 }, [], 100),
      T0,
    );
    expect(done.record).toMatchObject({ status: "completed", step: 1990, progress: 100, finishedAt: T0 });
    const stopped = applyObservation(fresh(), reported({ status: "stopped", step: 500 }), T0).record;
    expect(stopped).toMatchObject({ status: "stopped", stoppedAt: T0, finishedAt: T0 });
    // Over is over: a later answer moves the numbers but not the state.
    const later = applyObservation(stopped, reported({ status: "queued", step: 500, queuePosition: 1 }), T0 + 1).record;
    expect(later.status).toBe("stopped");
    expect(view(later).queue_position).toBeNull();
  });

  it("publishes nulls for the phase, queue and stuck fields of a bridge job", () => {
    const bridge: Observation = { kind: "answer", status: "running", progress: 0, logs: [], totalLines: 0 };
    const { record } = applyObservation(fresh(), bridge, T0);
    expect(view(record)).toMatchObject({ phase: null, queue_position: null, stuck: null });
  });
});
