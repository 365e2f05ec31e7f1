import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listJobs } from "../../../src/jobs/service";
import { trainingJobFor, type TrainingJob } from "../../../src/jobs/training-job";
import { ScriptedToolkit, tqdmLog } from "./scripted-toolkit";

describe("listJobs", () => {
  it("adopts the jobs the Worker never saw start a few at a time, not one after another", async () => {
    const toolkit = new ScriptedToolkit();
    const ids = Array.from({ length: 9 }, () => crypto.randomUUID());
    for (const jobId of ids) {
      toolkit.jobs.set(jobId, { status: "running", config: "my_lora", log: tqdmLog("my_lora", 100, 0, 10, 10) });
      await runInDurableObject(trainingJobFor(env, jobId), (instance: TrainingJob) => {
        instance.upstream = toolkit.client;
      });
    }
    toolkit.delayMs = 40;
    const list = await listJobs(env, toolkit.client);
    expect(list.toolkit_reachable).toBe(true);
    const listed = new Map(list.jobs.map((job) => [job.job_id, job]));
    for (const jobId of ids) expect(listed.get(jobId)).toMatchObject({ status: "running", current_step: 10 });
    // Four adoptions at a time, each asking status then log: never more than four requests at once.
    expect(toolkit.maxInFlight).toBe(4);
    expect(toolkit.countOf("get_training_status")).toBe(ids.length);
  });
});
