import { describe, expect, it } from "vitest";
import { inlineImage } from "../../src/mcp/fields";
import { INLINE_IMAGE_MAX_BYTES } from "../../src/mcp/tools/datasets";
import { callTool } from "./helpers/mcp";
import { ScriptedToolkit } from "./helpers/scripted-toolkit";
import { JPEG_BASE64, PNG_BASE64, TEXT_BASE64, WEBP_BASE64 } from "./fixtures";

/**
 * Bad input is refused at the edge with a message naming the field and the rule, and the
 * toolkit never hears of it.
 */
async function refused(tool: string, args: Record<string, unknown>, message: RegExp) {
  const toolkit = new ScriptedToolkit();
  const answer = await callTool(toolkit, tool, args);
  expect(answer.isError).toBe(true);
  expect(answer.content[0]?.text).toMatch(message);
  expect(toolkit.calls).toHaveLength(0);
}

async function accepted(tool: string, args: Record<string, unknown>, result: Record<string, unknown>) {
  const toolkit = new ScriptedToolkit().on(tool, { result });
  const answer = await callTool(toolkit, tool, args);
  expect(answer.isError, answer.content[0]?.text).toBeFalsy();
  expect(toolkit.calls).toHaveLength(1);
}

const config = { name: "ok", model_name: "black-forest-labs/FLUX.1-dev", dataset_path: "/ai-toolkit/datasets/cats" };
const configResult = { status: "success", config: "ok", path: "/ai-toolkit/config/ok.yaml" };
const upload = (image: Record<string, unknown>) => ({ dataset_name: "cats", images: [{ caption: "", ...image }] });

describe("names", () => {
  it.each([
    ["../etc", /name may contain only letters, digits/],
    [".hidden", /name must not start with a dot/],
    ["", /name must not be empty/],
    ["a".repeat(65), /name must be at most 64 characters/],
    ["has space", /name may contain only/],
    ["a/b", /name may contain only/],
  ])("refuses config name %j", (name, message) => refused("get_config", { name }, message));

  it.each(["my_lora", "v1.2-final", "A", "a".repeat(64)])("accepts %j", (name) =>
    accepted("get_config", { name }, { config: {} }),
  );

  it("applies the same rule to dataset_name, config_name and model_name", async () => {
    await refused("upload_dataset", { dataset_name: "../x", images: [{ filename: "a.png", data: PNG_BASE64 }] }, /dataset_name may contain only/);
    await refused("start_training", { config_name: ".x" }, /config_name must not start with a dot/);
    await refused("export_model", { model_name: "a/b", output_path: "/ai-toolkit/e" }, /model_name may contain only/);
  });
});

describe("dataset_path", () => {
  it.each([
    ["datasets/cats", /dataset_path must be an absolute path/],
    ["/ai-toolkit/datasets/../config", /dataset_path must not contain '\.\.'/],
    ["/etc/passwd", /dataset_path must be under \/ai-toolkit\/datasets\//],
    ["/ai-toolkit/datasets/", /dataset_path must be under/],
    ["/ai-toolkit/datasetsX/cats", /dataset_path must be under/],
  ])("refuses %j", (dataset_path, message) => refused("create_training_config", { ...config, dataset_path }, message));

  it("follows DATASETS_ROOT", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: configResult });
    const answer = await callTool(toolkit, "create_training_config", { ...config, dataset_path: "/data/sets/cats" }, { DATASETS_ROOT: "/data/sets" });
    expect(answer.isError).toBeFalsy();
    const refusedAnswer = await callTool(new ScriptedToolkit(), "create_training_config", config, { DATASETS_ROOT: "/data/sets" });
    expect(refusedAnswer.content[0]?.text).toMatch(/under \/data\/sets\//);
  });
});

describe("training numbers", () => {
  it.each([
    [{ steps: 0 }, /steps must be at least 1/],
    [{ steps: 100_001 }, /steps must be at most 100000/],
    [{ steps: 10.5 }, /steps must be a whole number/],
    [{ resolution: 128 }, /resolution must be at least 256/],
    [{ resolution: 4096 }, /resolution must be at most 2048/],
    [{ resolution: 500 }, /resolution must be a multiple of 64/],
    [{ rank: 0 }, /rank must be at least 1/],
    [{ rank: 257 }, /rank must be at most 256/],
    [{ alpha: 0 }, /alpha must be at least 1/],
    [{ alpha: 300 }, /alpha must be at most 256/],
  ])("refuses %j", (extra, message) => refused("create_training_config", { ...config, ...extra }, message));

  it("accepts the limits", () =>
    accepted("create_training_config", { ...config, steps: 100_000, resolution: 2048, rank: 256, alpha: 1 }, configResult));
});

describe("images", () => {
  it.each([
    [{ filename: "../../x.png", data: PNG_BASE64 }, /filename must be a plain file name without any folder part/],
    [{ filename: "sub\\x.png", data: PNG_BASE64 }, /without any folder part/],
    [{ filename: "x.gif", data: PNG_BASE64 }, /filename must end in one of: \.png, \.jpg, \.jpeg, \.webp/],
    [{ filename: "x", data: PNG_BASE64 }, /filename must end in one of/],
    [{ filename: ".x.png", data: PNG_BASE64 }, /filename must not start with a dot/],
    [{ filename: "x.png", data: "not base64!!" }, /data of x\.png is not valid base64/],
    [{ filename: "x.png", data: TEXT_BASE64 }, /x\.png does not contain a PNG image/],
    [{ filename: "x.jpg", data: PNG_BASE64 }, /x\.jpg does not contain a JPG image \(its first bytes look like png\)/],
    [{ filename: "x.png", data: PNG_BASE64, caption: "c".repeat(4001) }, /caption must be at most 4000 characters/],
  ])("refuses %j", (image, message) => refused("upload_dataset", upload(image), message));

  // Accepted images go on to an upload session (tested in test/worker/uploads and end to end);
  // here only the edge rule itself is checked.
  it.each([
    ["a.png", PNG_BASE64],
    ["b.jpg", JPEG_BASE64],
    ["c.JPEG", JPEG_BASE64],
    ["d.webp", WEBP_BASE64],
  ])("accepts %s whose bytes match", (filename, data) => {
    const parsed = inlineImage(INLINE_IMAGE_MAX_BYTES, 4000).safeParse({ filename, data, caption: "" });
    expect(parsed.success, parsed.error?.message).toBe(true);
  });

  it("refuses duplicate file names and an empty list", async () => {
    const image = { filename: "a.png", data: PNG_BASE64, caption: "" };
    await refused("upload_dataset", { dataset_name: "cats", images: [image, { ...image, filename: "A.png" }] }, /A\.png appears twice/);
    await refused("upload_dataset", { dataset_name: "cats", images: [] }, /images must hold at least one image/);
  });

  it("refuses an image over the inline size limit without decoding it", async () => {
    const huge = PNG_BASE64.slice(0, 12) + "A".repeat(Math.ceil((2 * 1024 * 1024 + 3000) / 3) * 4 - 12);
    await refused("upload_dataset", upload({ filename: "big.png", data: huge }), /over the \d+-byte limit/);
  });
});

describe("other fields", () => {
  it.each([
    [{ job_id: "../../x" }, /job_id must be a job id/],
    [{ job_id: "" }, /job_id must not be empty/],
  ])("refuses job id %j", (args, message) => refused("get_training_status", args, message));

  it("bounds log lines", () => refused("get_training_logs", { job_id: "j1", lines: 0 }, /lines must be at least 1/));

  it.each([
    ["relative/path", /output_path must be an absolute path/],
    ["/ai-toolkit/../etc", /output_path must not contain '\.\.'/],
    ["/root/.ssh/authorized_keys", /output_path must be under \/ai-toolkit\//],
    ["/ai-toolkit", /output_path must be under \/ai-toolkit\//],
    ["/ai-toolkit/a\nb", /output_path must not contain control characters/],
  ])("refuses output_path %j", (output_path, message) => refused("export_model", { model_name: "m", output_path }, message));

  it("follows EXPORT_ROOT for output_path", async () => {
    const toolkit = new ScriptedToolkit().on("export_model", { result: { status: "success", path: "/home/me/loras/m.safetensors" } });
    const answer = await callTool(toolkit, "export_model", { model_name: "m", output_path: "/home/me/loras/" }, { EXPORT_ROOT: "/home/me" });
    expect(answer.isError, answer.content[0]?.text).toBeFalsy();
  });
});
