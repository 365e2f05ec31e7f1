import { describe, expect, it } from "vitest";
import { ToolkitClient } from "../../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../../src/toolkit/bridge/upstream";
import { uploadBodyLength } from "../../../../src/toolkit/bridge/upload-body";
import { ToolkitError } from "../../../../src/toolkit/errors";
import { ScriptedToolkit } from "../../helpers/scripted-toolkit";

const saved = { status: "success", config: "my_lora", path: "/ai-toolkit/config/my_lora.yaml" };
const base = { name: "my_lora", dataset_path: "/ai-toolkit/datasets/cats", steps: 500, rank: 8, alpha: 8 };

function bridgeOver(toolkit: ScriptedToolkit): BridgeUpstream {
  return new BridgeUpstream(new ToolkitClient(toolkit, 2_000));
}

describe("the bridge's create_training_config", () => {
  it("fills resolution and low_vram from the family and says what the bridge cannot be told", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: saved });
    const result = await bridgeOver(toolkit).createConfig({ ...base, model_name: "Qwen/Qwen-Image" });
    expect(toolkit.callsTo("create_training_config")[0]?.body).toMatchObject({
      arguments: { resolution: 1024, low_vram: true },
    });
    expect(result).toMatchObject({ ...saved, family: "qwen_image" });
    expect(result.not_applied?.join(" ")).toMatch(/flowmatch/);
  });

  it("keeps what the caller chose, and the old defaults for a model of no known family", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: saved }, { result: saved });
    const bridge = bridgeOver(toolkit);
    await bridge.createConfig({ ...base, model_name: "/ai-toolkit/models/mine", resolution: 768, low_vram: false });
    const unknown = await bridge.createConfig({ ...base, model_name: "someone/custom-model" });
    const [first, second] = toolkit.callsTo("create_training_config");
    expect(first?.body).toMatchObject({ arguments: { resolution: 768, low_vram: false } });
    expect(second?.body).toMatchObject({ arguments: { resolution: 512, low_vram: true } });
    expect(unknown.family).toBeUndefined();
  });

  it("refuses settings only the UI can apply, and sends nothing", async () => {
    const toolkit = new ScriptedToolkit().on("create_training_config", { result: saved });
    const bridge = bridgeOver(toolkit);
    await expect(
      bridge.createConfig({ ...base, model_name: "someone/x", learning_rate: 2e-4, batch_size: 2 }),
    ).rejects.toThrow(/cannot set learning_rate, batch_size: .*AI_TOOLKIT_API=ui/);
    await expect(bridge.createConfig({ ...base, model_name: "someone/x", resolutions: [512, 768] })).rejects.toThrow(
      /cannot set resolutions/,
    );
    expect(toolkit.callsTo("create_training_config")).toHaveLength(0);
  });
});

describe("the bridge's other answers", () => {
  it("says plainly that it has no samples to give", async () => {
    const bridge = bridgeOver(new ScriptedToolkit());
    const error = await bridge.samples().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ToolkitError);
    expect((error as ToolkitError).kind).toBe("tool");
    expect((error as Error).message).toMatch(/cannot hand out sample images.*AI_TOOLKIT_API=ui/);
  });

  it("measures a batch body exactly as the body it sends", () => {
    const bridge = bridgeOver(new ScriptedToolkit());
    const images = [
      { filename: "a.png", caption: 'a "quoted" cat', size: 1000 },
      { filename: "é😀.jpg", caption: "\n", size: 1 },
      { filename: "c.webp", caption: "", size: 0 },
    ];
    for (let n = 1; n <= images.length; n++) {
      const some = images.slice(0, n);
      const measured = bridge.batchOverhead("dataset ü") + some.reduce((sum, i) => sum + bridge.batchBytes(i), 0);
      expect(measured).toBe(uploadBodyLength("dataset ü", some));
    }
  });

  it("turns an unknown job into a not-found observation and a dead toolkit into an unreachable one", async () => {
    const toolkit = new ScriptedToolkit().on("get_training_status", {
      result: { status: "error", message: "Job not found" },
    });
    expect(await bridgeOver(toolkit).observeRun("j1", undefined, { retry: false })).toEqual({ kind: "not_found" });
    const dead = new BridgeUpstream(
      new ToolkitClient(
        { kind: "direct", target: "http://127.0.0.1:9", fetch: () => Promise.reject(new TypeError("refused")) },
        500,
      ),
    );
    expect(await dead.observeRun("j1", undefined, { retry: false })).toMatchObject({ kind: "unreachable" });
  });
});
