import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { callTool } from "./harness";
import { useUiSuite } from "./ui-stack";
import { testImage } from "./upload-data";

/**
 * Jobs as ai-toolkit's UI makes them, through wrangler dev and the MCP SDK 1.x client against
 * the UI's stand-in: one created with the UI's own API (POST /api/jobs with its token) shows up
 * in list_training_jobs, one made there to fail reports the trainer's own message, and a second
 * job on the one GPU waits in its queue behind the first.
 */
const ui = useUiSuite();
const { ok, waitFor, statusUntil, uiApi } = ui;

describe("jobs the UI knows of", () => {
  // A dataset to train on, and a configuration for the UI's own API to copy.
  beforeAll(async () => {
    await ok("upload_dataset", {
      dataset_name: "cats",
      images: [
        { filename: "cat.png", data: Buffer.from(testImage("queue-cat", 2000)).toString("base64"), caption: "a cat" },
      ],
    });
    await ok("create_training_config", {
      name: "cat_lora",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: path.join(ui.datasetsDir, "cats"),
      steps: 10,
    });
  });

  it("finds in list_training_jobs a job created through the UI's own API", async () => {
    const { config } = (await ok("get_config", { name: "cat_lora" })) as { config: { config: { name: string } } };
    const jobConfig = { ...config, config: { ...config.config, name: "made_in_ui" } };
    const created = (await uiApi("/api/jobs", {
      method: "POST",
      body: JSON.stringify({ name: "made_in_ui", gpu_ids: "0", job_config: jobConfig }),
    })) as { id: string };
    expect(created.id).toMatch(/^[0-9a-f-]{36}$/);

    const { jobs } = (await ok("list_training_jobs")) as { jobs: Array<Record<string, unknown>> };
    // Never started: the UI's row says "stopped", and so does the Worker's record it adopted.
    expect(jobs).toContainEqual(
      expect.objectContaining({ job_id: created.id, config: "made_in_ui", status: "stopped" }),
    );
    expect(await ok("get_training_status", { job_id: created.id })).toMatchObject({ config: "made_in_ui" });
    expect((await ok("list_configs")).configs).toContain("made_in_ui");
  });

  it("a job made in the UI and started with start_training fails with the trainer's own message", async () => {
    const { config } = (await ok("get_config", { name: "cat_lora" })) as {
      config: { config: { name: string; process: Array<Record<string, unknown>> } };
    };
    const process = { ...config.config.process[0], simulate: { fail_at_step: 3, error: "CUDA out of memory (test)" } };
    const jobConfig = { ...config, config: { ...config.config, name: "fails_in_ui", process: [process] } };
    await uiApi("/api/jobs", {
      method: "POST",
      body: JSON.stringify({ name: "fails_in_ui", gpu_ids: "0", job_config: jobConfig }),
    });

    const started = await ok("start_training", { config_name: "fails_in_ui" });
    const ended = await waitFor(String(started.job_id));
    expect(ended.status).toBe("failed");
    expect(String(ended.reason)).toMatch(/the trainer stopped with an error at step \d+: CUDA out of memory \(test\)/);
    const logs = await ok("get_training_logs", { job_id: String(started.job_id), lines: 50 });
    expect((logs.logs as string[]).join("")).toContain("CUDA out of memory (test)");
  });

  it("a second job on the same GPU waits in the queue behind the first, then runs", async () => {
    // Long enough (some seconds at the stand-in's pace) for the second to be queued behind it.
    const first = await ui.train("queue_first", 800, "cats");
    await waitFor(first, (view) => view.status === "running");
    await ok("create_training_config", {
      name: "queue_second",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: path.join(ui.datasetsDir, "cats"),
      steps: 100_000,
    });
    const start = await callTool(ui.client, "start_training", { config_name: "queue_second" });
    expect(start.isError, start.content[0]?.text).toBeFalsy();
    const second = String(start.structuredContent?.job_id);
    expect(start.structuredContent).toMatchObject({ status: "queued", queue_position: 1 });
    expect(start.content[0]?.text).toMatch(
      /\(queued\)\. The training job queue_second is queued on GPU 0 \(place 1 of 1\): it waits for the job queue_first to finish\. Estimated/,
    );
    const startText = await callTool(ui.client, "get_training_status", { job_id: second });
    expect(startText.content[0]?.text).toMatch(/is queued, .*GPU 0/);
    const row = (await uiApi(`/api/jobs?id=${second}`)) as { status: string };
    expect(row.status).toBe("queued");

    const waiting = await ok("get_training_status", { job_id: second });
    expect(waiting).toMatchObject({ status: "queued", queue_position: 1 });
    expect(String(waiting.phase)).toMatch(/queue|line|wait/i);

    const firstDone = await waitFor(first);
    expect(firstDone.status).toBe("completed");
    const running = await statusUntil(second, (view) => view.status === "running", "ran");
    expect(running.queue_position).toBeNull();
    await ok("stop_training", { job_id: second });
    await statusUntil(second, (view) => view.status === "stopped", "stopped");
  });
});
