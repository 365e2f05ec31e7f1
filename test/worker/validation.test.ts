import { env } from "cloudflare:workers";
import { McpServer } from "@modelcontextprotocol/server";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readConfig } from "../../src/config";
import { inlineImage, inlineImages } from "../../src/mcp/inline-images";
import { toolContext } from "../../src/mcp/server";
import { closestKey, strictInput } from "../../src/mcp/strict-input";
import { answer, defineTool, readOnly } from "../../src/mcp/tool";
import { INLINE_IMAGE_MAX_BYTES } from "../../src/mcp/tools/datasets";
import { callTool, mcpRequest, mcpRequestTo, type ToolCallResult } from "./helpers/mcp";
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
    await refused(
      "upload_dataset",
      { dataset_name: "../x", images: [{ filename: "a.png", data: PNG_BASE64 }] },
      /dataset_name may contain only/,
    );
    await refused("start_training", { config_name: ".x" }, /config_name must not start with a dot/);
    await refused(
      "export_model",
      { model_name: "a/b", output_path: "/ai-toolkit/outputs/exports/e.safetensors" },
      /model_name may contain only/,
    );
  });
});

describe("dataset_path", () => {
  it.each([
    ["datasets/cats", /dataset_path must be an absolute path/],
    ["/ai-toolkit/datasets/../config", /dataset_path must not contain '\.\.'/],
    ["/etc/passwd", /dataset_path must be under \/ai-toolkit\/datasets\//],
    ["/ai-toolkit/datasets/", /dataset_path must be under/],
    ["/ai-toolkit/datasetsX/cats", /dataset_path must be under/],
    ["..", /dataset_path may contain only letters|dataset_path must not start with a dot/],
    [".hidden", /dataset_path must not start with a dot/],
    ["cats dogs", /dataset_path may contain only letters, digits/],
    ["a\\b", /dataset_path must use '\/' between folders/],
  ])("refuses %j", (dataset_path, message) => refused("create_training_config", { ...config, dataset_path }, message));

  it("takes a dataset's bare name and places it in DATASETS_ROOT on the bridge", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: configResult });
    const answer = await callTool(toolkit, "create_training_config", { ...config, dataset_path: "cats" });
    expect(answer.isError).toBeFalsy();
    expect(toolkit.callsTo("create_training_config")[0]?.body).toMatchObject({
      arguments: { dataset_path: "/ai-toolkit/datasets/cats" },
    });
  });

  it("follows DATASETS_ROOT", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: configResult });
    const answer = await callTool(
      toolkit,
      "create_training_config",
      { ...config, dataset_path: "/data/sets/cats" },
      { DATASETS_ROOT: "/data/sets" },
    );
    expect(answer.isError).toBeFalsy();
    const refusedAnswer = await callTool(new ScriptedToolkit(), "create_training_config", config, {
      DATASETS_ROOT: "/data/sets",
    });
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
    [{ resolution: 500 }, /resolution must be a multiple of 8/],
    [{ rank: 0 }, /rank must be at least 1/],
    [{ rank: 257 }, /rank must be at most 256/],
    [{ alpha: 0 }, /alpha must be at least 1/],
    [{ alpha: 300 }, /alpha must be at most 256/],
  ])("refuses %j", (extra, message) => refused("create_training_config", { ...config, ...extra }, message));

  it("accepts the limits", () =>
    accepted(
      "create_training_config",
      { ...config, steps: 100_000, resolution: 2048, rank: 256, alpha: 1 },
      configResult,
    ));
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
    await refused(
      "upload_dataset",
      { dataset_name: "cats", images: [image, { ...image, filename: "A.png" }] },
      /A\.png appears twice/,
    );
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
});

const EXPORTS = "/ai-toolkit/outputs/exports";

describe("output_path: only a file directly inside the exports folder", () => {
  it.each([
    // ai-toolkit's own files, configs, datasets, and anything else on the machine
    [
      "/ai-toolkit/run.py",
      /output_path must be a file directly inside \/ai-toolkit\/outputs\/exports\/, for example \/ai-toolkit\/outputs\/exports\/my_lora\.safetensors/,
    ],
    ["/ai-toolkit/config/x.yaml", /must be a file directly inside \/ai-toolkit\/outputs\/exports\//],
    ["/ai-toolkit/config/x.safetensors", /must be a file directly inside/],
    ["/ai-toolkit/datasets/cats/x.safetensors", /must be a file directly inside/],
    ["/ai-toolkit/outputs/other_lora.safetensors", /must be a file directly inside/],
    ["/root/.ssh/authorized_keys", /must be a file directly inside \/ai-toolkit\/outputs\/exports\//],
    ["/ai-toolkit", /must be a file directly inside/],
    ["/ai-toolkit/outputs/exports", /must be a file directly inside/],
    // new nested folders
    [`${EXPORTS}/new/deeper/x.safetensors`, /not into a subfolder of \/ai-toolkit\/outputs\/exports\//],
    // paths that are not written the one way the toolkit resolves them
    ["relative/path.safetensors", /output_path must be an absolute path/],
    ["my_lora.safetensors", /output_path must be an absolute path/],
    [`${EXPORTS}/../../config/x.yaml`, /output_path must not contain '\.\.'/],
    [`${EXPORTS}/../x.safetensors`, /must not contain '\.\.'/],
    [`${EXPORTS}/./x.safetensors`, /must not contain '\.' segments/],
    [`${EXPORTS}//x.safetensors`, /must not contain empty segments/],
    [`${EXPORTS}/`, /output_path must name a file, not end in '\/'/],
    [`${EXPORTS}\\x.safetensors`, /must use '\/' between folders/],
    // NUL and other control characters, with their position
    [`${EXPORTS}/x\u0000.safetensors`, /output_path contains U\+0000 \(NUL\), a control character, at position 30/],
    [`${EXPORTS}/a\nb.safetensors`, /output_path contains U\+000A \(line feed\), a control character, at position 30/],
    [`${EXPORTS}/\u001b[31mx.safetensors`, /U\+001B \(ESC\)/],
    [`${EXPORTS}/x\u0085.safetensors`, /U\+0085 \(next line\), a control character/],
    // the file itself
    [`${EXPORTS}/x.yaml`, /file name must end in one of: \.safetensors, \.ckpt, \.pt/],
    [`${EXPORTS}/run.py`, /must end in one of: \.safetensors/],
    [`${EXPORTS}/safetensors`, /needs a name before its extension/],
    [`${EXPORTS}/.safetensors`, /needs a name before its extension and must not start with a dot/],
    [`${EXPORTS}/.hidden.safetensors`, /must not start with a dot/],
    [`${EXPORTS}/my lora.safetensors`, /file name may contain only letters, digits/],
    [`${EXPORTS}/${"a".repeat(130)}.pt`, /at most 128 characters/],
    ["", /output_path must not be empty/],
  ])("refuses %j", (output_path, message) => refused("export_model", { model_name: "m", output_path }, message));

  it.each(["my_lora.safetensors", "v1.2-final.ckpt", "m.pt"])(
    "accepts %s in the exports folder and sends exactly that path",
    async (file) => {
      const output_path = `${EXPORTS}/${file}`;
      const toolkit = new ScriptedToolkit().on("export_model", { result: { status: "success", path: output_path } });
      const answer = await callTool(toolkit, "export_model", { model_name: "m", output_path });
      expect(answer.isError, answer.content[0]?.text).toBeFalsy();
      expect(toolkit.callsTo("export_model")[0]?.body).toEqual({
        tool: "export_model",
        arguments: { model_name: "m", output_path },
      });
    },
  );

  it("follows EXPORT_ROOT, which may be the outputs folder itself or a folder inside it", async () => {
    const toolkit = new ScriptedToolkit().on("export_model", {
      result: { status: "success", path: "/ai-toolkit/outputs/m2.safetensors" },
    });
    const answer = await callTool(
      toolkit,
      "export_model",
      { model_name: "m", output_path: "/ai-toolkit/outputs/m2.safetensors" },
      { EXPORT_ROOT: "/ai-toolkit/outputs" },
    );
    expect(answer.isError, answer.content[0]?.text).toBeFalsy();
    const other = await callTool(
      new ScriptedToolkit(),
      "export_model",
      { model_name: "m", output_path: `${EXPORTS}/m.safetensors` },
      { EXPORT_ROOT: "/data/ai-toolkit/outputs/loras/" },
    );
    expect(other.content[0]?.text).toMatch(/directly inside \/data\/ai-toolkit\/outputs\/loras\//);
  });

  it.each([
    ["/ai-toolkit", /EXPORT_ROOT must be the toolkit's outputs folder or a folder inside it/],
    ["/ai-toolkit/config", /EXPORT_ROOT must be the toolkit's outputs folder/],
    ["/home/me", /EXPORT_ROOT must be the toolkit's outputs folder/],
    ["/", /EXPORT_ROOT must be a folder, not \//],
    ["ai-toolkit/outputs", /EXPORT_ROOT must be an absolute path/],
    ["/ai-toolkit/outputs/../config", /EXPORT_ROOT must not contain '\.', '\.\.' or empty segments/],
    ["/ai-toolkit//outputs", /must not contain '\.', '\.\.' or empty segments/],
  ])("refuses the setting EXPORT_ROOT=%j", (EXPORT_ROOT, message) => {
    expect(() => readConfig({ ...env, EXPORT_ROOT })).toThrow(message);
  });

  it("refuses an exports folder that holds the datasets, and names the exports folder in the schema", async () => {
    expect(() =>
      readConfig({ ...env, EXPORT_ROOT: "/ai-toolkit/outputs", DATASETS_ROOT: "/ai-toolkit/outputs/datasets" }),
    ).toThrow(/EXPORT_ROOT and DATASETS_ROOT must not contain one another/);
    expect(readConfig({ ...env, EXPORT_ROOT: "" }).EXPORT_ROOT).toBe(EXPORTS);
    const schema = (await listedTools()).export_model?.inputSchema.properties?.output_path;
    expect(schema?.description).toContain(`${EXPORTS}/`);
  });
});

describe("model_name: a Hugging Face id or a path under MODELS_ROOT", () => {
  const create = (model_name: string) => ({ ...config, model_name });
  it.each([
    [
      "../../../../etc/passwd",
      /model_name must be a Hugging Face model id "owner\/name" \(for example black-forest-labs\/FLUX\.1-dev\) or an absolute path under \/ai-toolkit\/models\//,
    ],
    ["/etc/shadow", /\/etc\/shadow is outside \/ai-toolkit\/models\//],
    ["/ai-toolkit/models/../../etc/shadow", /model_name must not contain '\.\.'/],
    [
      "/ai-toolkit/models/",
      /model_name must name a model folder or file inside \/ai-toolkit\/models\/, not the folder itself/,
    ],
    ["/ai-toolkit/modelsX/flux", /is outside/],
    ["/ai-toolkit/models//flux", /must not contain empty segments/],
    ["/ai-toolkit/config/x.yaml", /is outside \/ai-toolkit\/models\//],
    ["sd15", /model_name must be a Hugging Face model id "owner\/name"/],
    ["owner/repo/sub", /model_name must be a Hugging Face model id/],
    [
      "owner/repo/model.safetensors",
      /a file inside a repository is not a model id; put the file under \/ai-toolkit\/models\//,
    ],
    ["hf://owner/name", /model_name must be a Hugging Face model id/],
    ["owner/..", /"\.\." is not a valid Hugging Face owner or name/],
    ["-owner/name", /"-owner" is not a valid Hugging Face owner or name/],
    ["owner/name.", /"name\." is not a valid/],
    ["owner/na--me", /"na--me" is not a valid/],
    ["owner/na..me", /"na\.\.me" is not a valid/],
    ["own er/name", /"own er" is not a valid/],
    ["owner/", /"" is not a valid/],
    [`${"a".repeat(97)}/name`, /is not a valid Hugging Face owner or name .*at most 96 characters/],
    ["owner/name.git", /does not end in \.git/],
    ["owner/na\u0000me", /model_name contains U\+0000 \(NUL\)/],
    ["", /model_name must not be empty/],
  ])("refuses %j", (model_name, message) => refused("create_training_config", create(model_name), message));

  it.each([
    "black-forest-labs/FLUX.1-dev",
    "runwayml/stable-diffusion-v1-5",
    "ostris/Flex.1-alpha",
    "stabilityai/stable-diffusion-xl-base-1.0",
    `${"a".repeat(96)}/${"b".repeat(96)}`,
    "/ai-toolkit/models/flux",
    "/ai-toolkit/models/flux/",
    "/ai-toolkit/models/sd/v1-5-pruned.safetensors",
  ])("accepts %j and sends it unchanged", async (model_name) => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: configResult });
    const answer = await callTool(toolkit, "create_training_config", create(model_name));
    expect(answer.isError, answer.content[0]?.text).toBeFalsy();
    expect(
      (toolkit.callsTo("create_training_config")[0]?.body as { arguments: Record<string, unknown> }).arguments
        .model_name,
    ).toBe(model_name);
  });

  it("follows MODELS_ROOT and says so in the schema", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: configResult });
    expect(
      (await callTool(toolkit, "create_training_config", create("/srv/models/flux"), { MODELS_ROOT: "/srv/models" }))
        .isError,
    ).toBeFalsy();
    const outside = await callTool(new ScriptedToolkit(), "create_training_config", create("/ai-toolkit/models/flux"), {
      MODELS_ROOT: "/srv/models",
    });
    expect(outside.content[0]?.text).toMatch(/absolute path under \/srv\/models\//);
    expect(() => readConfig({ ...env, MODELS_ROOT: "/" })).toThrow(/MODELS_ROOT must be a folder/);
    const description = (await listedTools()).create_training_config?.inputSchema.properties?.model_name?.description;
    expect(description).toMatch(/Hugging Face model id "owner\/name".*under \/ai-toolkit\/models\/ \(MODELS_ROOT\)/);
  });
});

describe("image names need a name before the extension", () => {
  it.each([
    ["png", /filename has no name before its extension: name the file like cat_01\.png/],
    ["PNG", /filename has no name before its extension/],
    ["jpeg", /filename has no name before its extension: name the file like cat_01\.jpeg/],
    [".png", /filename must not start with a dot/],
    ["x.", /filename must end in one of/],
    ["x\u001b.png", /filename contains U\+001B \(ESC\)/],
  ])("refuses %j inline", (filename, message) =>
    refused("upload_dataset", upload({ filename, data: PNG_BASE64 }), message),
  );
});

describe("two images, one caption file", () => {
  const image = (filename: string, data: string, caption: string) => ({ filename, data, caption });

  it("refuses a.png with a.jpg: both captions would be written to a.txt", async () => {
    await refused(
      "upload_dataset",
      { dataset_name: "cats", images: [image("a.png", PNG_BASE64, "first"), image("a.jpg", JPEG_BASE64, "second")] },
      /images\.1\.filename: a\.jpg and a\.png share the name "a": the toolkit stores each image's caption as <name>\.txt, so one caption would replace the other\. Rename one of them \(for example a_2\.jpg\)/,
    );
    await refused(
      "upload_dataset",
      { dataset_name: "cats", images: [image("Cat.PNG", PNG_BASE64, ""), image("cat.webp", WEBP_BASE64, "")] },
      /cat\.webp and Cat\.PNG share the name "cat"/,
    );
  });

  it("refuses two names the toolkit would store as one", async () => {
    await refused(
      "upload_dataset",
      { dataset_name: "cats", images: [image("a b.png", PNG_BASE64, "one"), image("a_b.png", PNG_BASE64, "two")] },
      /a_b\.png appears twice \(as a b\.png: both are stored as a_b\.png\); file names must be unique/,
    );
  });

  it("accepts different stems", () => {
    const parsed = inlineImages(INLINE_IMAGE_MAX_BYTES, 4000, 200).safeParse([
      image("a.png", PNG_BASE64, "one"),
      image("a.b.png", PNG_BASE64, "two"),
      image("ab.jpg", JPEG_BASE64, ""),
    ]);
    expect(parsed.success, parsed.error?.message).toBe(true);
  });
});

describe("control characters in captions, trigger words and prompts", () => {
  it.each([
    [
      "\u001b[31mred",
      /images\.0\.caption: caption contains U\+001B \(ESC\), a control character, at position 1: remove it/,
    ],
    ["a cat\u0000", /caption contains U\+0000 \(NUL\), a control character, at position 6/],
    ["🐱\u0007", /caption contains U\+0007 \(BEL\), a control character, at position 2/],
    ["x\u007f", /U\+007F \(DEL\), a control character/],
    ["x\u009b", /U\+009B, a control character/],
    ["one\u2028two", /U\+2028 \(line separator\), a Unicode line break, at position 4/],
    ["abc\u202egpj.exe", /U\+202E \(right-to-left override\), a bidirectional text control/],
    ["x\ud800", /U\+D800, half of a surrogate pair/],
  ])("refuses caption %j", (caption, message) =>
    refused("upload_dataset", upload({ filename: "x.png", data: PNG_BASE64, caption }), message),
  );

  it("keeps ordinary Unicode, tabs and line breaks in captions", () => {
    const caption = "café crème, 猫が寝ている 👩‍💻🐈‍⬛\tsecond column\r\nsecond line, עברית\u200f";
    const parsed = inlineImage(INLINE_IMAGE_MAX_BYTES, 4000).safeParse({
      filename: "a.png",
      data: PNG_BASE64,
      caption,
    });
    expect(parsed.success, parsed.error?.message).toBe(true);
  });

  it.each([
    ["sks\u0000", /trigger_word contains U\+0000 \(NUL\), a control character, at position 4: remove it/],
    ["sks\u001b", /trigger_word contains U\+001B \(ESC\)/],
    [
      "sks\nwoman",
      /trigger_word contains U\+000A \(line feed\), a control character, at position 4: trigger_word must be on one line/,
    ],
    ["s\tks", /U\+0009 \(tab\), a control character, at position 2/],
    ["s\u200bks", /U\+200B \(zero-width space\), an invisible character, at position 2/],
    ["\u202esks", /U\+202E \(right-to-left override\), a bidirectional text control, at position 1/],
    ["sks\u2029", /U\+2029 \(paragraph separator\), a Unicode line break/],
    ["sks\u00ad", /U\+00AD \(soft hyphen\), an invisible character/],
  ])("refuses trigger_word %j in both tools", async (trigger_word, message) => {
    await refused("create_training_config", { ...config, trigger_word }, message);
    await refused("create_dataset_upload", { dataset_name: "cats", trigger_word }, message);
  });

  it.each(["ñandú", "猫", "🐱", "👩‍💻", "sks person"])("accepts trigger_word %j", (trigger_word) =>
    accepted("create_training_config", { ...config, trigger_word }, configResult),
  );

  it("refuses them in default_caption and test_prompts too", async () => {
    await refused(
      "create_dataset_upload",
      { dataset_name: "cats", default_caption: "a\u001bb" },
      /default_caption contains U\+001B \(ESC\), a control character, at position 2/,
    );
    await refused(
      "create_training_config",
      { ...config, test_prompts: ["fine", "bad\u0000"] },
      /test_prompts\.1: a test prompt contains U\+0000 \(NUL\)/,
    );
    await refused(
      "create_training_config",
      { ...config, test_prompts: ["two\nlines"] },
      /a test prompt must be on one line/,
    );
  });
});

describe("unknown arguments", () => {
  it("refuses a typo with the closest valid key, and the toolkit hears nothing", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: configResult });
    const answer = await callTool(toolkit, "create_training_config", { ...config, step: 5 });
    expect(answer.isError).toBe(true);
    expect(answer.content[0]?.text).toBe(
      "Input validation error: Invalid arguments for tool create_training_config: unknown argument `step`: " +
        "did you mean `steps`?",
    );
    expect(toolkit.calls).toHaveLength(0);
  });

  it.each([
    [
      "create_training_config",
      { ...config, Steps: 5, triggerWord: "x", lowvram: false },
      /unknown argument `Steps`: did you mean `steps`\?; unknown argument `triggerWord`: did you mean `trigger_word`\?; unknown argument `lowvram`: did you mean `low_vram`\?/,
    ],
    [
      "create_training_config",
      { ...config, optimizer: "adamw" },
      /unknown argument `optimizer`: create_training_config takes `name`, `model_name`, `dataset_path`, `resolution`, `steps`, `rank`, `alpha`, `low_vram`, `trigger_word`, `test_prompts`, `arch`, `learning_rate`/,
    ],
    ["list_configs", { verbose: true }, /unknown argument `verbose`: list_configs takes no arguments/],
    ["get_training_logs", { job_id: "j1", line: 5 }, /unknown argument `line`: did you mean `lines`\?/],
    [
      "export_model",
      { model_name: "m", output_path: `${EXPORTS}/m.safetensors`, stag: true },
      /unknown argument `stag`: did you mean `stage`\?/,
    ],
    ["download_model", { model_name: "m", encodng: "raw" }, /unknown argument `encodng`: did you mean `encoding`\?/],
    ["create_dataset_upload", { dataset_name: "cats", trigger: "sks" }, /unknown argument `trigger`/],
  ])("%s %j", (tool, args, message) => refused(tool, args, message));

  it("refuses unknown fields inside an inline image, naming where", async () => {
    await refused(
      "upload_dataset",
      { dataset_name: "cats", images: [{ filename: "a.png", data: PNG_BASE64, captoin: "lost" }] },
      /images\.0: unknown field `captoin`: did you mean `caption`\?/,
    );
  });

  it("explains arguments nested under `parameters` the way the toolkit's own HTTP API takes them", async () => {
    await refused(
      "create_training_config",
      { parameters: config },
      /unknown argument `parameters`: give create_training_config's arguments directly \(`name`, `model_name`, .*\), not nested under `parameters`/,
    );
    await refused("list_configs", { parameters: {} }, /unknown argument `parameters`: list_configs takes no arguments/);
  });

  it("is enforced for every tool, and published as additionalProperties: false", async () => {
    const tools = await listedTools();
    expect(Object.keys(tools).length).toBeGreaterThanOrEqual(20);
    for (const [name, tool] of Object.entries(tools)) {
      expect(tool.inputSchema.additionalProperties, name).toBe(false);
      const toolkit = new ScriptedToolkit();
      const answer = await callTool(toolkit, name, { zz_not_an_argument: 1 });
      expect(answer.isError, name).toBe(true);
      expect(answer.content[0]?.text, name).toMatch(/unknown argument `zz_not_an_argument`/);
      expect(toolkit.calls, name).toHaveLength(0);
    }
    const images = tools.upload_dataset?.inputSchema.properties?.images as
      { items?: { additionalProperties?: boolean } } | undefined;
    expect(images?.items?.additionalProperties).toBe(false);
  });

  it("makes the inputSchema of a tool declared with defineTool strict, whatever tool it is", async () => {
    const seen: unknown[] = [];
    const server = () => {
      const built = new McpServer({ name: "t", version: "1" });
      defineTool({
        name: "echo",
        title: "Echo",
        description: "echo",
        input: z.object({ text: z.string().describe("what to echo"), times: z.number().default(1) }),
        output: z.object({}),
        annotations: readOnly,
        async run(args) {
          seen.push(args);
          return answer({}, "ok");
        },
      }).register(built, toolContext(env));
      return built;
    };
    const good = (await mcpRequestTo(server, "tools/call", { name: "echo", arguments: { text: "hi" } }))
      .result as ToolCallResult;
    expect(good.isError).toBeFalsy();
    expect(seen).toEqual([{ text: "hi", times: 1 }]);
    const bad = (await mcpRequestTo(server, "tools/call", { name: "echo", arguments: { text: "hi", time: 2 } }))
      .result as ToolCallResult;
    expect(bad.isError).toBe(true);
    expect(bad.content[0]?.text).toBe(
      "Input validation error: Invalid arguments for tool echo: unknown argument `time`: did you mean `times`?",
    );
    expect(seen).toHaveLength(1);
    const listed = (await mcpRequestTo(server, "tools/list", {})).result as {
      tools: Array<{
        inputSchema: { additionalProperties?: boolean; properties: Record<string, { description?: string }> };
      }>;
    };
    expect(listed.tools[0]?.inputSchema.additionalProperties).toBe(false);
    expect(listed.tools[0]?.inputSchema.properties.text?.description).toBe("what to echo");
  });

  it("keeps each object's own checks and an explicit catchall, and refuses a tool without an input schema", () => {
    const strict = strictInput(
      "t",
      z.object({ a: z.number(), b: z.number() }).refine((v) => v.a < v.b, "a must be below b"),
    );
    expect(strict.safeParse({ a: 2, b: 1 }).error?.issues[0]?.message).toBe("a must be below b");
    expect(strict.safeParse({ a: 1, b: 2 }).success).toBe(true);
    expect(strictInput("t", z.object({ a: z.number() }).passthrough()).safeParse({ a: 1, extra: true }).data).toEqual({
      a: 1,
      extra: true,
    });
    expect(() => strictInput("t", undefined)).toThrow(/declares no inputSchema/);
    expect(closestKey("model", ["model_name", "dataset_path"])).toBeUndefined();
    expect(closestKey("modelName", ["model_name", "dataset_path"])).toBe("model_name");
    expect(closestKey("dataset-path", ["model_name", "dataset_path"])).toBe("dataset_path");
  });
});

type ListedTool = {
  inputSchema: { additionalProperties?: boolean; properties?: Record<string, { description?: string }> };
};

async function listedTools(): Promise<Record<string, ListedTool>> {
  const answer = await mcpRequest(new ScriptedToolkit(), "tools/list", {});
  const tools = (answer.result as { tools: Array<ListedTool & { name: string }> }).tools;
  return Object.fromEntries(tools.map((tool) => [tool.name, tool]));
}
