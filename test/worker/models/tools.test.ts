import { describe, expect, it } from "vitest";
import { callTool } from "../helpers/mcp";
import { base64, downloadAnswer, safetensorsFile, sha256Hex, toolkitWith, uniqueName } from "./support";

describe("download_model", () => {
  it("answers with a signed link, size, SHA-256, metadata, and small models inline", async () => {
    const name = uniqueName("tool_small");
    const file = safetensorsFile(20_000);
    const result = await callTool(toolkitWith(name, file.length, downloadAnswer(name, file)), "download_model", {
      model_name: name,
    });
    expect(result.isError).toBeUndefined();
    const s = result.structuredContent ?? {};
    expect(s.size).toBe(file.length);
    expect(s.sha256).toBe(await sha256Hex(file));
    expect(s.download_url).toMatch(
      new RegExp(`^/downloads/models/${name}/[^/]+/${name}\\.safetensors\\?expires=\\d+&sig=[0-9a-f]{64}$`),
    );
    expect(s.safetensors).toEqual({ tensors: 1, metadata: { ss_network_dim: "16" } });
    expect(s.encoding).toBe("base64");
    expect(s.data).toBe(base64(file));
    expect(result.content[0]?.text).toMatch(/SHA-256: [0-9a-f]{64}/);
  });

  it("gives only the link, and says why, when the model is over the inline limit", async () => {
    const name = uniqueName("tool_big");
    const file = safetensorsFile(20_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file));
    const result = await callTool(
      toolkit,
      "download_model",
      { model_name: name },
      { DOWNLOAD_INLINE_MAX_BYTES: "1000" },
    );
    const s = result.structuredContent ?? {};
    expect(s.data).toBeUndefined();
    expect(s.encoding).toBe("link");
    expect(s.inline_skipped).toMatch(/over the 1000-byte limit .*download it from the link/);
    expect(result.content[0]?.text).toMatch(/Not inline/);
  });

  it("gives only the link for encoding raw, and reuses the staged copy the second time", async () => {
    const name = uniqueName("tool_raw");
    const file = safetensorsFile(1_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file));
    const first = await callTool(toolkit, "download_model", { model_name: name, encoding: "raw" });
    expect(first.structuredContent?.data).toBeUndefined();
    expect(first.structuredContent?.reused).toBe(false);
    const second = await callTool(toolkit, "download_model", { model_name: name, encoding: "raw" });
    expect(second.structuredContent?.reused).toBe(true);
    expect(second.content[0]?.text).toMatch(/already staged/);
    expect(toolkit.callsTo("download_model")).toHaveLength(1);
    // The toolkit only speaks base64: the Worker always asks for it.
    expect(toolkit.callsTo("download_model")[0]?.body).toEqual({
      tool: "download_model",
      arguments: { model_name: name, encoding: "base64" },
    });
  });

  it("reports a cut-off answer as an error that says what to do", async () => {
    const name = uniqueName("tool_cut");
    const file = safetensorsFile(5_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file, { cutAt: 3_000 }));
    const result = await callTool(toolkit, "download_model", { model_name: name });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/cut off.*nothing was staged.*call download_model again/);
  });
});

describe("export_model and list_exported_models", () => {
  it("export_model with stage: true also stages the model and returns the link", async () => {
    const name = uniqueName("tool_export");
    const file = safetensorsFile(2_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file)).on("export_model", {
      result: { status: "success", path: `/ai-toolkit/outputs/exports/${name}.safetensors` },
    });
    const output_path = `/ai-toolkit/outputs/exports/${name}.safetensors`;
    const result = await callTool(toolkit, "export_model", { model_name: name, output_path, stage: true });
    expect(result.isError).toBeUndefined();
    expect(toolkit.callsTo("export_model")[0]?.body).toEqual({
      tool: "export_model",
      arguments: { model_name: name, output_path },
    });
    const staged = result.structuredContent?.staged as Record<string, unknown>;
    expect(staged.sha256).toBe(await sha256Hex(file));
    expect(staged.download_url).toMatch(/^\/downloads\//);
    expect(result.content[0]?.text).toMatch(/Exported .*\n.*staged/);
  });

  it("list_exported_models marks staged models with their link and expiry", async () => {
    const name = uniqueName("tool_list");
    const file = safetensorsFile(2_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file));
    await callTool(toolkit, "download_model", { model_name: name, encoding: "raw" });
    toolkit.on("list_exported_models", {
      result: {
        models: [
          { name, path: `/ai-toolkit/outputs/${name}.safetensors`, size: file.length },
          { name: `${name}_other`, path: `/ai-toolkit/outputs/${name}_other.safetensors`, size: 5 },
        ],
      },
    });
    const result = await callTool(toolkit, "list_exported_models");
    const models = result.structuredContent?.models as Array<Record<string, unknown>>;
    expect(models[0]?.staged).toBe(true);
    expect(models[0]?.sha256).toBe(await sha256Hex(file));
    expect(typeof models[0]?.staged_until).toBe("string");
    expect(typeof models[0]?.link_expires_at).toBe("string");
    expect(models[0]?.download_url).toMatch(/^\/downloads\//);
    expect(models[1]?.staged).toBe(false);
    expect(result.content[0]?.text).toMatch(/staged, link valid until/);
  });
});
