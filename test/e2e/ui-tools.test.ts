import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { callTool } from "./harness";
import { sha256, useUiSuite, type Structured } from "./ui-stack";
import { testImage } from "./upload-data";

/**
 * Every tool through wrangler dev, a real OAuth sign-in and the MCP SDK 1.x client, against the
 * stand-in of ai-toolkit's own UI (tunnel/ui-toolkit): jobs run in its queue, files land in its
 * folders, and each answer is checked against what the stand-in holds on disk or in its API.
 * ui-queue.test.ts has the jobs the UI's own API and queue make.
 */
const ui = useUiSuite();
const { ok, refused, waitFor, statusUntil, uiApi } = ui;

const CAT1 = testImage("ui-cat-1", 3000);
const CAT2 = testImage("ui-cat-2", 5000, "jpeg");

describe("every tool against ai-toolkit's UI, through the Worker", () => {
  it("offers every tool", async () => {
    const { tools } = await ui.client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const name of [
      "check_connection",
      "create_training_config",
      "list_configs",
      "get_config",
      "upload_dataset",
      "create_dataset_upload",
      "get_dataset_upload",
      "list_datasets",
      "start_training",
      "get_training_status",
      "wait_for_training",
      "get_training_metrics",
      "get_training_logs",
      "stop_training",
      "list_training_jobs",
      "list_exported_models",
      "download_model",
      "export_model",
      "get_system_stats",
      "get_training_info",
    ])
      expect(names).toContain(name);
  });

  it("check_connection says the UI answers", async () => {
    const result = await ok("check_connection");
    expect(result).toMatchObject({ ok: true, api: "ui", answering: "ui", authenticated: true });
  });

  it("upload_dataset puts the images and captions in the UI's datasets folder", async () => {
    const uploaded = await ok("upload_dataset", {
      dataset_name: "cats",
      images: [
        { filename: "cat1.png", data: Buffer.from(CAT1).toString("base64"), caption: "photo of sks cat" },
        { filename: "cat2.jpg", data: Buffer.from(CAT2).toString("base64"), caption: "sks cat sleeping" },
      ],
    });
    expect(uploaded.images_saved).toBe(2);
    const folder = path.join(ui.datasetsDir, "cats");
    expect(sha256(await readFile(path.join(folder, "cat1.png")))).toBe(sha256(CAT1));
    expect(sha256(await readFile(path.join(folder, "cat2.jpg")))).toBe(sha256(CAT2));
    expect(await readFile(path.join(folder, "cat1.txt"), "utf8")).toBe("photo of sks cat");
    expect(await readFile(path.join(folder, "cat2.txt"), "utf8")).toBe("sks cat sleeping");
  });

  it("an upload session forwards its files to the UI, captions included", async () => {
    const created = await ok("create_dataset_upload", { dataset_name: "dogs", default_caption: "a dog" });
    const base = String(created.upload_url);
    const files: Array<[string, Uint8Array<ArrayBuffer>]> = [
      ["dog1.png", testImage("ui-dog-1", 40_000)],
      ["dog1.txt", new TextEncoder().encode("sks dog on grass")],
      ["dog2.jpg", testImage("ui-dog-2", 70_000, "jpeg")],
    ];
    for (const [name, body] of files) {
      const response = await fetch(`${base}/files/${name}`, { method: "PUT", body });
      expect(response.status, `${name}: ${await response.clone().text()}`).toBe(201);
    }
    const finalize = await fetch(`${base}/finalize`, { method: "POST" });
    expect(finalize.status, await finalize.clone().text()).toBe(202);

    let manifest = await ok("get_dataset_upload", { upload_url: base });
    const deadline = Date.now() + 60_000;
    while (manifest.state !== "complete" && manifest.state !== "failed" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      manifest = await ok("get_dataset_upload", { upload_url: base });
    }
    expect(manifest.state, JSON.stringify(manifest)).toBe("complete");
    expect((manifest.forward as Structured).toolkitImages).toBe(2);

    const folder = path.join(ui.datasetsDir, "dogs");
    for (const [name, body] of files.filter(([file]) => !file.endsWith(".txt")))
      expect(sha256(await readFile(path.join(folder, name))), name).toBe(sha256(body));
    expect(await readFile(path.join(folder, "dog1.txt"), "utf8")).toBe("sks dog on grass");
    expect(await readFile(path.join(folder, "dog2.txt"), "utf8")).toBe("a dog");
  });

  it("list_datasets counts the images of each", async () => {
    const { datasets } = await ok("list_datasets");
    expect(datasets).toEqual(
      expect.arrayContaining([
        { name: "cats", images: 2 },
        { name: "dogs", images: 2 },
      ]),
    );
  });

  it("create_training_config makes a UI job with the options asked for; list_configs and get_config read it", async () => {
    const saved = await ok("create_training_config", {
      name: "cat_lora",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: path.join(ui.datasetsDir, "cats"),
      steps: 8,
      trigger_word: "sks",
      test_prompts: ["[trigger] on a sofa"],
      learning_rate: 0.0002,
      batch_size: 2,
      save_every: 3,
      sample_every: 4,
      resolutions: [512, 768],
    });
    expect(saved).toMatchObject({ status: "success", config: "cat_lora", family: "flux", replaced: false });
    expect(saved.path).toBe(path.join(ui.trainingFolder, "cat_lora"));

    // The family comes from arch when model_name (a local folder) names none.
    const local = await ok("create_training_config", {
      name: "local_sdxl",
      model_name: "/ai-toolkit/models/my-finetune",
      arch: "sdxl",
      dataset_path: path.join(ui.datasetsDir, "dogs"),
      steps: 4,
    });
    expect(local).toMatchObject({ config: "local_sdxl", family: "sdxl" });
    const unknown = await refused("create_training_config", {
      name: "nameless",
      model_name: "/ai-toolkit/models/my-finetune",
      dataset_path: path.join(ui.datasetsDir, "dogs"),
    });
    expect(unknown).toMatch(/arch/);

    const { configs } = await ok("list_configs");
    expect(configs).toEqual(expect.arrayContaining(["cat_lora", "local_sdxl"]));
    expect(configs).not.toContain("nameless");

    const { config } = (await ok("get_config", { name: "cat_lora" })) as {
      config: { config: { name: string; process: Array<Record<string, Record<string, unknown>>> } };
    };
    expect(config.config.name).toBe("cat_lora");
    const process = config.config.process[0] ?? {};
    expect(process.train).toMatchObject({ steps: 8, lr: 0.0002, batch_size: 2 });
    expect(process.save).toMatchObject({ save_every: 3 });
    expect(process.sample).toMatchObject({ sample_every: 4, samples: [{ prompt: "[trigger] on a sofa" }] });
    expect(process.model).toMatchObject({ name_or_path: "black-forest-labs/FLUX.1-dev", arch: "flux" });
    const datasets = process.datasets as unknown as Array<Record<string, unknown>>;
    expect(datasets[0]).toMatchObject({ folder_path: path.join(ui.datasetsDir, "cats"), resolution: [512, 768] });
    expect(process.training_folder).toBe(ui.trainingFolder);

    const sdxl = (await ok("get_config", { name: "local_sdxl" })) as {
      config: { config: { process: Array<Record<string, Record<string, unknown>>> } };
    };
    expect(sdxl.config.config.process[0]?.model).toMatchObject({ arch: "sdxl" });

    // What the UI itself holds is the same job.
    const jobs = (await uiApi("/api/jobs")) as { jobs: Array<{ name: string; status: string }> };
    expect(jobs.jobs.find((job) => job.name === "cat_lora")?.status).toBe("stopped");

    const outside = await refused("create_training_config", {
      name: "escape",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: "/ai-toolkit/datasets/cats",
    });
    expect(outside).toMatch(/dataset_path/);
  });

  let catJob = "";

  it("start_training runs the job in the UI's queue until it completes, with loss, logs and status", async () => {
    const started = await ok("start_training", { config_name: "cat_lora" });
    catJob = String(started.job_id);
    expect(["queued", "starting", "running"]).toContain(started.status);

    const done = await waitFor(catJob);
    expect(done.status, JSON.stringify(done)).toBe("completed");

    const status = await ok("get_training_status", { job_id: catJob });
    expect(status).toMatchObject({ job_id: catJob, config: "cat_lora", status: "completed", total_steps: 8 });
    expect(status.current_step).toBe(8);
    expect(status.progress).toBe(100);
    // From the trainer's own progress bar: the UI's row has no start time.
    expect(status.elapsed_seconds).toEqual(expect.any(Number));

    const metrics = await ok("get_training_metrics", { job_id: catJob, chart: false });
    expect(metrics.status).toBe("completed");
    const points = metrics.points as Array<Record<string, unknown>>;
    expect(points.length).toBeGreaterThan(0);
    expect(JSON.stringify(metrics.summary)).toMatch(/loss/);

    const logs = await ok("get_training_logs", { job_id: catJob, lines: 200 });
    expect(logs.source).toBe("toolkit");
    const onDisk = await readFile(path.join(ui.trainingFolder, "cat_lora", "log.txt"), "utf8");
    const lines = (logs.logs as string[]).join("");
    expect(lines.length).toBeGreaterThan(0);
    expect(onDisk).toContain(lines.trimEnd().split("\n").at(-1) ?? "missing");
    expect(lines).toMatch(/8\/8/);

    const { jobs } = await ok("list_training_jobs");
    expect(jobs).toContainEqual(expect.objectContaining({ job_id: catJob, config: "cat_lora", status: "completed" }));
  });

  it("list_exported_models lists the final model and its checkpoints, sized as on disk", async () => {
    const { models } = (await ok("list_exported_models")) as { models: Array<Record<string, unknown>> };
    const folder = path.join(ui.trainingFolder, "cat_lora");
    const files = (await readdir(folder)).filter((file) => file.endsWith(".safetensors")).sort();
    expect(files).toContain("cat_lora.safetensors");
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) {
      const name = file.replace(/\.safetensors$/, "");
      const listed = models.find((model) => model.name === name);
      expect(listed, `${name} in ${JSON.stringify(models)}`).toBeDefined();
      expect(listed?.size).toBe((await readFile(path.join(folder, file))).length);
      expect(listed?.job).toBe("cat_lora");
    }
    expect(models.find((model) => model.name === "cat_lora_000000003")).toMatchObject({ step: 3 });
  });

  it("get_training_samples shows the newest samples as images, with links that serve the UI's files", async () => {
    const folder = path.join(ui.trainingFolder, "cat_lora", "samples");
    const onDisk = (await readdir(folder)).filter((file) => file.endsWith(".jpg")).sort();
    expect(onDisk.length).toBeGreaterThan(0);
    const result = await callTool(ui.client, "get_training_samples", { job_id: catJob, count: 2 });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const structured = result.structuredContent as {
      steps: number[];
      samples: Array<{ step: number; prompt: string | null; url: string | null; has_thumbnail: boolean }>;
    };
    expect(structured.samples.length).toBeGreaterThan(0);
    expect(structured.samples.length).toBeLessThanOrEqual(2);
    expect(structured.samples.every((sample) => sample.prompt?.includes("on a sofa"))).toBe(true);
    // The thumbnails come as image content; no address of the UI's own appears anywhere.
    const images = result.content.filter((item) => item.type === "image") as Array<{ mimeType?: string }>;
    expect(images.length).toBe(structured.samples.filter((sample) => sample.has_thumbnail).length);
    expect(images.every((image) => image.mimeType === "image/jpeg")).toBe(true);
    expect(JSON.stringify(result)).not.toMatch(/\/api\/(files|img)|127\.0\.0\.1:\d+\/api/);
    // Each link serves the full sample, byte for byte, through the Worker.
    for (const sample of structured.samples) {
      expect(sample.url).toMatch(/\/samples\//);
      const file = onDisk.find((name) => sample.url?.includes(encodeURIComponent(name)) || sample.url?.includes(name));
      expect(file, `${sample.url} names a sample on disk`).toBeDefined();
      const response = await fetch(sample.url as string);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("image/jpeg");
      const served = Buffer.from(await response.arrayBuffer());
      expect(sha256(served)).toBe(sha256(await readFile(path.join(folder, file as string))));
    }
    // A link whose signature does not match its file opens nothing.
    const tampered = (structured.samples[0]?.url ?? "").replace(/sig=[^&]+/, "sig=AAAA");
    expect((await fetch(tampered)).status).toBe(403);
  });

  it("download_model stages the model in R2; the link serves the UI's file byte for byte", async () => {
    const onDisk = await readFile(path.join(ui.trainingFolder, "cat_lora", "cat_lora.safetensors"));
    const download = await ok("download_model", { model_name: "cat_lora", encoding: "raw" });
    expect(download).toMatchObject({ status: "success", model: "cat_lora", size: onDisk.length, reused: false });
    expect(download.sha256).toBe(sha256(onDisk));
    const response = await fetch(String(download.download_url));
    expect(response.status).toBe(200);
    const fetched = new Uint8Array(await response.arrayBuffer());
    expect(fetched.length).toBe(onDisk.length);
    expect(sha256(fetched)).toBe(sha256(onDisk));

    // A checkpoint downloads too, and an unchanged model is handed out again without re-sending it.
    const checkpoint = await ok("download_model", { model_name: "cat_lora_000000003", encoding: "raw" });
    const checkpointOnDisk = await readFile(path.join(ui.trainingFolder, "cat_lora", "cat_lora_000000003.safetensors"));
    expect(checkpoint.sha256).toBe(sha256(checkpointOnDisk));
    expect(await ok("download_model", { model_name: "cat_lora", encoding: "raw" })).toMatchObject({ reused: true });

    const { models } = (await ok("list_exported_models")) as { models: Array<Record<string, unknown>> };
    expect(models.find((model) => model.name === "cat_lora")).toMatchObject({ staged: true, sha256: sha256(onDisk) });
  });

  it("export_model is refused, saying where the model is", async () => {
    const text = await refused("export_model", {
      model_name: "cat_lora",
      output_path: "/ai-toolkit/outputs/exports/cat_lora.safetensors",
    });
    expect(text).toContain(path.join(ui.trainingFolder, "cat_lora", "cat_lora.safetensors"));
    expect(text).toMatch(/^ai-toolkit's UI cannot copy models/);
    expect(text).toMatch(/download_model/);
  });

  it("stop_training stops a running job, and says so when it had already ended", async () => {
    const jobId = await ui.train("slow_lora", 100_000, "cats");
    const running = await waitFor(jobId, (view) => Number(view.current_step) >= 1);
    expect(running.status).toBe("running");
    const stopped = await callTool(ui.client, "stop_training", { job_id: jobId });
    expect(stopped.isError, stopped.content[0]?.text).toBeFalsy();
    expect(stopped.structuredContent?.stopped).toBe(true);
    const ended = await statusUntil(jobId, (view) => view.status === "stopped", "stopped");
    expect(ended.stopped_by).toBeTruthy();
    const row = (await uiApi(`/api/jobs?id=${jobId}`)) as { status: string };
    expect(row.status).toBe("stopped");

    const again = await callTool(ui.client, "stop_training", { job_id: jobId });
    expect(again.isError, again.content[0]?.text).toBeFalsy();
    expect(again.structuredContent?.stopped).toBe(false);
    expect(again.content[0]?.text).toMatch(/had already ended \(stopped/);
  });

  it("get_system_stats and get_training_info describe the UI's machine and jobs", async () => {
    const result = await callTool(ui.client, "get_system_stats");
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    expect(result.structuredContent).toMatchObject({
      server: "ai-toolkit UI",
      gpu: { cuda_available: true, device_count: 1 },
    });
    // The UI reports no disk usage and no torch reserve: the text leaves them out rather than show "?".
    expect(result.content[0]?.text).toMatch(/^CPU [\d.]+%, memory [\d.]+%, GPU [^:?]+: [\d.]+ GB allocated\.$/);
    const info = await ok("get_training_info");
    expect(Number(info.total_jobs)).toBeGreaterThanOrEqual(2);
  });
});
