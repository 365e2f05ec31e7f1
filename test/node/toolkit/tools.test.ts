// Configs, datasets, models, system and info tools: happy paths, failure shapes, and that no
// name or path can make the server write outside its data folder.

import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";

import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Harness, listFiles, PNG_1X1, removeSandbox, startHarness } from "./helpers.ts";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

interface ProcessConfig {
  type: string;
  trigger_word: string;
  network: { type: string; linear: number; linear_alpha: number };
  datasets: Array<{ folder_path: string; resolution: number[] }>;
  train: { steps: number; noise_scheduler: string };
  model: { name_or_path: string; is_flux?: boolean; low_vram: boolean };
  sample: { prompts: string[]; guidance_scale: number; sampler: string };
}

const processOf = (config: unknown): ProcessConfig =>
  (config as { config: { process: ProcessConfig[] } }).config.process[0] as ProcessConfig;

describe("configs", () => {
  it("writes an ai-toolkit job YAML and reports the /ai-toolkit path", async () => {
    const result = await h.result("create_training_config", {
      name: "flux_lora",
      model_name: "black-forest-labs/FLUX.1-dev",
      dataset_path: "/ai-toolkit/datasets/faces",
      steps: 1500,
      rank: 32,
      alpha: 8,
      resolution: 1024,
      low_vram: false,
      trigger_word: "p3rs0n",
      test_prompts: ["p3rs0n on a beach"],
    });
    expect(result).toEqual({ status: "success", config: "flux_lora", path: "/ai-toolkit/config/flux_lora.yaml" });
    const onDisk = parse(await readFile(path.join(h.dataDir, "config", "flux_lora.yaml"), "utf8")) as { job: string };
    expect(onDisk.job).toBe("extension");
    const proc = processOf(onDisk);
    expect(proc.type).toBe("sd_trainer");
    expect(proc.network).toEqual({ type: "lora", linear: 32, linear_alpha: 8 });
    expect(proc.datasets[0]?.folder_path).toBe("/ai-toolkit/datasets/faces");
    expect(proc.datasets[0]?.resolution).toEqual([1024]);
    expect(proc.train.steps).toBe(1500);
    expect(proc.model).toMatchObject({ name_or_path: "black-forest-labs/FLUX.1-dev", is_flux: true, low_vram: false });
    expect(proc.trigger_word).toBe("p3rs0n");
    expect(proc.sample.prompts).toEqual(["p3rs0n on a beach"]);
    // FLUX gets flowmatch and guidance 1.0 (the original's DDPM / 7.5 is fixed here).
    expect(proc.train.noise_scheduler).toBe("flowmatch");
    expect(proc.sample.guidance_scale).toBe(1);
  });

  it("applies the original's defaults and DDPM for non-FLUX models", async () => {
    await h.result("create_training_config", {
      name: "sd",
      model_name: "runwayml/stable-diffusion-v1-5",
      dataset_path: "/ai-toolkit/datasets/d",
    });
    const { config } = await h.result("get_config", { name: "sd" });
    const proc = processOf(config);
    expect(proc.network).toMatchObject({ linear: 16, linear_alpha: 16 });
    expect(proc.train.steps).toBe(1000);
    expect(proc.datasets[0]?.resolution).toEqual([512]);
    expect(proc.model.low_vram).toBe(true);
    expect(proc.model.is_flux).toBeUndefined();
    expect(proc.train.noise_scheduler).toBe("ddpm");
    expect(proc.sample.guidance_scale).toBe(7.5);
  });

  it("overwrites silently, lists configs, and reports a missing one in-band", async () => {
    await h.result("create_training_config", { name: "sd", model_name: "m2", dataset_path: "/ai-toolkit/datasets/d" });
    expect(processOf((await h.result("get_config", { name: "sd" })).config).model.name_or_path).toBe("m2");
    const { configs } = await h.result("list_configs");
    expect(configs).toEqual(expect.arrayContaining(["sd", "flux_lora"]));
    expect(await h.result("get_config", { name: "nope" })).toEqual({ error: "Configuration not found" });
    expect(await h.result("get_config", {})).toEqual({ error: "Missing required field: name" });
    expect(
      await h.result("create_training_config", { name: "x", model_name: "m", dataset_path: "d", steps: "many" }),
    ).toHaveProperty("error");
  });
});

describe("datasets", () => {
  it("saves images with captions, skipping bad ones silently", async () => {
    const result = await h.result("upload_dataset", {
      dataset_name: "faces",
      images: [
        { filename: "a.png", data: PNG_1X1, caption: "p3rs0n smiling" },
        { filename: "b.jpg", data: PNG_1X1, caption: "p3rs0n" },
        { filename: "c.webp", data: PNG_1X1, caption: "p3rs0n" },
        { filename: "bad.png", data: "not base64!", caption: "x" },
        { filename: "nocaption.png", data: PNG_1X1 },
        { data: PNG_1X1, caption: "no filename" },
        "not even an object",
      ],
    });
    expect(result).toEqual({
      status: "success",
      dataset: "faces",
      images_saved: 3,
      path: "/ai-toolkit/datasets/faces",
    });
    const dir = path.join(h.dataDir, "datasets", "faces");
    expect(await readFile(path.join(dir, "a.png"))).toEqual(Buffer.from(PNG_1X1, "base64"));
    expect(await readFile(path.join(dir, "a.txt"), "utf8")).toBe("p3rs0n smiling");
    expect((await listFiles(dir)).sort()).toEqual(["a.png", "a.txt", "b.jpg", "b.txt", "c.txt", "c.webp"]);
  });

  it("lists datasets with their image counts", async () => {
    await mkdir(path.join(h.dataDir, "datasets", "empty"), { recursive: true });
    const { datasets } = await h.result("list_datasets");
    expect(datasets).toEqual(
      expect.arrayContaining([
        { name: "faces", images: 3 },
        { name: "empty", images: 0 },
      ]),
    );
  });

  it("reports missing fields in-band", async () => {
    expect(await h.result("upload_dataset", { images: [] })).toEqual({ error: "Missing required field: dataset_name" });
    expect(await h.result("upload_dataset", { dataset_name: "x" })).toEqual({
      error: "Missing required field: images",
    });
  });
});

describe("models", () => {
  const outputs = (): string => path.join(h.dataDir, "outputs");

  beforeAll(async () => {
    await writeFile(path.join(outputs(), "alpha.safetensors"), Buffer.from("0123456789"));
    await writeFile(path.join(outputs(), "beta.ckpt"), Buffer.from("ckpt!"));
    await writeFile(path.join(outputs(), "gamma.pt"), Buffer.from("pt"));
  });

  it("lists .safetensors and .ckpt files with sizes", async () => {
    const { models } = await h.result("list_exported_models");
    expect(models).toEqual(
      expect.arrayContaining([
        { name: "alpha", path: "/ai-toolkit/outputs/alpha.safetensors", size: 10 },
        { name: "beta", path: "/ai-toolkit/outputs/beta.ckpt", size: 5 },
      ]),
    );
    expect((models as Array<{ name: string }>).map((m) => m.name)).not.toContain("gamma");
  });

  it("exports a copy inside the data folder", async () => {
    expect(
      await h.result("export_model", {
        model_name: "alpha",
        output_path: "/ai-toolkit/outputs/exported/a.safetensors",
      }),
    ).toEqual({
      status: "success",
      path: "/ai-toolkit/outputs/exported/a.safetensors",
    });
    expect(await readFile(path.join(outputs(), "exported", "a.safetensors"), "utf8")).toBe("0123456789");
    // A folder as destination receives the file under its own name; .pt models are found too.
    expect(await h.result("export_model", { model_name: "gamma", output_path: "exported/" })).toEqual({
      status: "success",
      path: "/ai-toolkit/outputs/exported/gamma.pt",
    });
    expect(await h.result("export_model", { model_name: "nope", output_path: "x.safetensors" })).toEqual({
      error: "Model not found",
    });
  });

  it("downloads a model as one base64 string in the exact original shape", async () => {
    const response = await fetch(`${h.server.url}/mcp/execute`, {
      method: "POST",
      body: JSON.stringify({ tool: "download_model", arguments: { model_name: "alpha" } }),
    });
    const text = await response.text();
    expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    expect(text).toBe(
      `{"success":true,"result":{"status":"success","model":"alpha","data":"${Buffer.from("0123456789").toString("base64")}` +
        `","size":10},"error":null}`,
    );
    expect(await h.result("download_model", { model_name: "nope" })).toEqual({ error: "Model not found" });
    expect(await h.result("download_model", { model_name: "alpha", encoding: "raw" })).toHaveProperty("error");
  });
});

describe("system and info", () => {
  it("reports real CPU, memory and disk numbers", async () => {
    const stats = await h.result("get_system_stats");
    for (const key of ["cpu_percent", "memory_percent", "disk_usage"]) {
      expect(typeof stats[key]).toBe("number");
      expect(stats[key]).toBeGreaterThanOrEqual(0);
      expect(stats[key]).toBeLessThanOrEqual(100);
    }
    expect(stats.memory_percent).toBeGreaterThan(0);
    expect(typeof (stats.gpu as { cuda_available: unknown }).cuda_available).toBe("boolean");
  });

  it("counts configs, datasets and models", async () => {
    const info = await h.result("get_training_info");
    expect(info).toMatchObject({ total_jobs: 0, active_jobs: 0 });
    expect(info.configs).toBeGreaterThanOrEqual(2);
    expect(info.datasets).toBeGreaterThanOrEqual(2);
    expect(info.models).toBe(2);
  });
});

describe("nothing escapes the data folder", () => {
  it("strips or refuses every path that points elsewhere", async () => {
    const before = await listFiles(h.sandbox);
    const upload = await h.result("upload_dataset", {
      dataset_name: "trav",
      images: [
        { filename: "../../escape1.png", data: PNG_1X1, caption: "x" },
        { filename: "..\\..\\escape2.png", data: PNG_1X1, caption: "x" },
        { filename: `${h.sandbox}/escape3.png`, data: PNG_1X1, caption: "x" },
        { filename: "..", data: PNG_1X1, caption: "x" },
        { filename: "sub/../../../escape4.png", data: PNG_1X1, caption: "x" },
      ],
    });
    // Directory parts are stripped: the images land inside the dataset, ".." alone is skipped.
    expect(upload.images_saved).toBe(4);
    expect(await listFiles(path.join(h.dataDir, "datasets", "trav"))).toEqual([
      "escape1.png",
      "escape1.txt",
      "escape2.png",
      "escape2.txt",
      "escape3.png",
      "escape3.txt",
      "escape4.png",
      "escape4.txt",
    ]);

    for (const name of ["../escape", "/tmp/escape", "a/b", ".."]) {
      expect(await h.result("upload_dataset", { dataset_name: name, images: [] })).toHaveProperty("error");
      expect(await h.result("create_training_config", { name, model_name: "m", dataset_path: "d" })).toHaveProperty(
        "error",
      );
      expect(await h.result("get_config", { name })).toEqual({ error: "Configuration not found" });
      expect(await h.result("start_training", { config_name: name })).toEqual({ error: "Configuration not found" });
      expect(await h.result("download_model", { model_name: `../outputs/${name}` })).toEqual({
        error: "Model not found",
      });
    }
    for (const output of [
      "../../escape.safetensors",
      `${h.sandbox}/escape.safetensors`,
      "/ai-toolkit/../escape.safetensors",
      "/etc/escape",
    ]) {
      expect(await h.result("export_model", { model_name: "alpha", output_path: output })).toHaveProperty("error");
    }

    const after = await listFiles(h.sandbox);
    const added = after.filter((f) => !before.includes(f));
    expect(added.length).toBeGreaterThan(0);
    for (const file of added) expect(file.startsWith(`data${path.sep}`), file).toBe(true);
    await expect(stat(path.join(h.sandbox, "escape1.png"))).rejects.toThrow();
  });
});
