import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  FAMILY_IDS,
  MODEL_PRESETS,
  bridgeDefaults,
  modelPresetSchema,
  recognizeFamily,
  resolveFamily,
  unknownFamilyMessage,
  type FamilyId,
} from "../../../src/jobs/presets";

describe("the preset table", () => {
  it.each(FAMILY_IDS)("%s parses with the preset schema", (family) => {
    const parsed = modelPresetSchema.safeParse(MODEL_PRESETS[family]);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it("has the families the brief names, and FAMILY_IDS lists exactly the table", () => {
    for (const family of [
      "flux",
      "flux_schnell",
      "flex1",
      "chroma",
      "sdxl",
      "sd15",
      "sd35",
      "hidream",
      "qwen_image",
      "wan21_1b",
      "wan21_14b",
      "wan22_14b",
      "wan22_5b",
    ]) {
      expect(FAMILY_IDS).toContain(family);
    }
    expect([...FAMILY_IDS].sort()).toEqual(Object.keys(MODEL_PRESETS).sort());
  });

  it("gives FAMILY_IDS in a form a zod enum accepts", () => {
    const arch = z.enum(FAMILY_IDS);
    expect(arch.parse("flux")).toBe("flux");
    expect(arch.safeParse("sd2").success).toBe(false);
  });

  it("refuses a preset whose sampler differs from its scheduler, or a video block on an image family", () => {
    const flux = MODEL_PRESETS.flux;
    expect(modelPresetSchema.safeParse({ ...flux, sampler: "ddpm" }).error?.issues[0]?.message).toBe(
      "sampler must match noise_scheduler",
    );
    expect(
      modelPresetSchema.safeParse({ ...flux, video: { num_frames: 41, fps: 16, dataset_fps: 16 } }).error?.issues[0]
        ?.message,
    ).toMatch(/video settings belong to video families/);
    expect(modelPresetSchema.safeParse({ ...MODEL_PRESETS.sdxl, quantize: true }).success).toBe(false);
  });

  it("holds the UI's values for the families it differs on", () => {
    expect(MODEL_PRESETS.sdxl).toMatchObject({
      arch: "sdxl",
      noise_scheduler: "ddpm",
      sampler: "ddpm",
      guidance_scale: 6,
      quantize: false,
    });
    expect(MODEL_PRESETS.sd15).toMatchObject({
      arch: "sd15",
      sample_width: 512,
      sample_height: 512,
      noise_scheduler: "ddpm",
    });
    expect(MODEL_PRESETS.flux_schnell).toMatchObject({
      arch: "flux",
      assistant_lora_path: "ostris/FLUX.1-schnell-training-adapter",
      guidance_scale: 1,
      sample_steps: 4,
    });
    expect(MODEL_PRESETS.hidream).toMatchObject({
      lr: 2e-4,
      timestep_type: "shift",
      ignore_if_contains: ["ff_i.experts", "ff_i.gate"],
    });
    expect(MODEL_PRESETS.wan22_14b).toMatchObject({
      arch: "wan22_14b:t2v",
      low_vram: true,
      timestep_type: "linear",
      model_kwargs: { train_high_noise: true, train_low_noise: true },
      video: { num_frames: 41, fps: 16 },
    });
    expect(MODEL_PRESETS.wan22_5b.video).toEqual({ num_frames: 121, fps: 24, dataset_fps: 24, do_i2v: true });
    expect(MODEL_PRESETS.sd35).toMatchObject({
      arch: "sd3",
      source: "example",
      resolution: [1024],
      timestep_type: "linear",
    });
    expect(MODEL_PRESETS.flex1.bypass_guidance_embedding).toBe(true);
    expect(MODEL_PRESETS.flux.bypass_guidance_embedding).toBe(false);
  });

  it("gives video settings to video families only", () => {
    for (const family of FAMILY_IDS) {
      const preset = MODEL_PRESETS[family];
      expect(preset.video !== undefined, family).toBe(preset.kind === "video");
    }
    expect(FAMILY_IDS.filter((f) => MODEL_PRESETS[f].kind === "video")).toEqual([
      "wan21_1b",
      "wan21_14b",
      "wan22_14b",
      "wan22_5b",
    ]);
  });

  it("keeps no arrays shared between presets", () => {
    expect(MODEL_PRESETS.flux.resolution).not.toBe(MODEL_PRESETS.chroma.resolution);
    expect(MODEL_PRESETS.flux.disabled_sections).not.toBe(MODEL_PRESETS.chroma.disabled_sections);
  });
});

describe("recognizeFamily", () => {
  it.each<[string, FamilyId]>([
    ["black-forest-labs/FLUX.1-dev", "flux"],
    ["black-forest-labs/FLUX.1-schnell", "flux_schnell"],
    ["ostris/Flex.1-alpha", "flex1"],
    ["ostris/Flex.2-preview", "flex2"],
    ["lodestones/Chroma", "chroma"],
    ["lodestones/Chroma1-Base", "chroma"],
    ["lodestones/Chroma1-HD", "chroma"],
    ["lodestones/Chroma/chroma-unlocked-v48.safetensors", "chroma"],
    ["stabilityai/stable-diffusion-xl-base-1.0", "sdxl"],
    ["runwayml/stable-diffusion-v1-5", "sd15"],
    ["stable-diffusion-v1-5/stable-diffusion-v1-5", "sd15"],
    ["stabilityai/stable-diffusion-3.5-large", "sd35"],
    ["stabilityai/stable-diffusion-3.5-medium", "sd35"],
    ["HiDream-ai/HiDream-I1-Full", "hidream"],
    ["Qwen/Qwen-Image", "qwen_image"],
    ["Qwen/Qwen-Image-2512", "qwen_image_2512"],
    ["Alpha-VLLM/Lumina-Image-2.0", "lumina2"],
    ["OmniGen2/OmniGen2", "omnigen2"],
    ["Tongyi-MAI/Z-Image", "zimage"],
    ["Tongyi-MAI/Z-Image-Turbo", "zimage_turbo"],
    ["black-forest-labs/FLUX.2-dev", "flux2"],
    ["black-forest-labs/FLUX.2-klein-base-4B", "flux2_klein_4b"],
    ["black-forest-labs/FLUX.2-klein-base-9B", "flux2_klein_9b"],
    ["Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "wan21_1b"],
    ["Wan-AI/Wan2.1-T2V-14B-Diffusers", "wan21_14b"],
    ["ai-toolkit/Wan2.2-T2V-A14B-Diffusers-bf16", "wan22_14b"],
    ["Wan-AI/Wan2.2-T2V-A14B-Diffusers", "wan22_14b"],
    ["Wan-AI/Wan2.2-TI2V-5B-Diffusers", "wan22_5b"],
  ])("reads %s as %s", (name, family) => {
    expect(recognizeFamily(name)).toBe(family);
  });

  it("recognises every preset's own default model", () => {
    for (const family of FAMILY_IDS) {
      expect(recognizeFamily(MODEL_PRESETS[family].name_or_path), family).toBe(family);
    }
  });

  it.each<[string, FamilyId]>([
    ["/ai-toolkit/models/FLUX.1-dev", "flux"],
    ["/models/flux1-dev.safetensors", "flux"],
    ["/home/me/models/sdxl/model.safetensors", "sdxl"],
    ["C:\\models\\sd_xl_base_1.0.safetensors", "sdxl"],
    ["/models/v1-5-pruned-emaonly.safetensors", "sd15"],
    ["/models/sd3.5_large.safetensors", "sd35"],
    ["/models/Wan2.1-T2V-14B-Diffusers/", "wan21_14b"],
    ["  Qwen/Qwen-Image  ", "qwen_image"],
  ])("reads the local path %j as %s", (name, family) => {
    expect(recognizeFamily(name)).toBe(family);
  });

  it.each([
    "",
    "my-model",
    "/models/juggernautXL_v9.safetensors",
    "black-forest-labs/FLUX.1-Kontext-dev",
    "black-forest-labs/FLUX.1-Fill-dev",
    "Qwen/Qwen-Image-Edit",
    "Qwen/Qwen-Image-Edit-2509",
    "Wan-AI/Wan2.1-I2V-14B-720P-Diffusers",
    "ai-toolkit/Wan2.2-I2V-A14B-Diffusers-bf16",
    "stabilityai/stable-diffusion-3.5-large-turbo",
    "stabilityai/stable-diffusion-2-1",
    "lodestones/Chroma1-Radiance",
    "lodestones/Zeta-Chroma/zeta-chroma-base-x0-pixel-dino-distance.safetensors",
    "HiDream-ai/HiDream-E1-1",
    "ostris/Z-Image-De-Turbo",
    "Lightricks/LTX-2",
  ])("reads %j as no family", (name) => {
    expect(recognizeFamily(name)).toBeUndefined();
  });
});

describe("resolveFamily", () => {
  it("prefers an explicit arch over the name", () => {
    expect(resolveFamily("/models/my-merge.safetensors", "sdxl")).toEqual({
      family: "sdxl",
      preset: MODEL_PRESETS.sdxl,
    });
    expect(resolveFamily("black-forest-labs/FLUX.1-dev", "flux_schnell")?.family).toBe("flux_schnell");
  });

  it("falls back to the name, and to nothing", () => {
    expect(resolveFamily("Qwen/Qwen-Image")?.preset).toBe(MODEL_PRESETS.qwen_image);
    expect(resolveFamily("my-model")).toBeUndefined();
  });

  it("says what to do when the name is unknown", () => {
    const message = unknownFamilyMessage("my-model");
    expect(message).toMatch(
      /^model_name "my-model" is not a model family this server recognises: pass arch, one of flux, /,
    );
    expect(message).toContain("wan22_5b");
  });
});

describe("bridgeDefaults", () => {
  it("gives the family's native size and Low VRAM default", () => {
    expect(bridgeDefaults("flux")).toMatchObject({ resolution: 1024, low_vram: false });
    expect(bridgeDefaults("sd15")).toMatchObject({ resolution: 512, low_vram: false });
    expect(bridgeDefaults("qwen_image")).toMatchObject({ resolution: 1024, low_vram: true });
    expect(bridgeDefaults("wan22_5b")).toMatchObject({ resolution: 768, low_vram: true });
  });

  it("gives resolutions the bridge tool accepts for every family", () => {
    for (const family of FAMILY_IDS) {
      const { resolution } = bridgeDefaults(family);
      expect(resolution % 64, family).toBe(0);
      expect(resolution).toBeGreaterThanOrEqual(256);
      expect(resolution).toBeLessThanOrEqual(2048);
    }
  });

  it("names what the bridge cannot express", () => {
    const flux = bridgeDefaults("flux").not_expressible;
    expect(flux).toContain("flowmatch noise scheduler and sampler (the bridge writes ddpm)");
    expect(flux).toContain("sample guidance 4 (the bridge writes 7.5)");
    expect(flux.join("; ")).toMatch(/quantization \(transformer qfloat8, text encoder qfloat8\)/);
    expect(bridgeDefaults("flux_schnell").not_expressible).toContain(
      "training adapter ostris/FLUX.1-schnell-training-adapter",
    );
    expect(flux).toContain("learning rate 0.0001");
    expect(flux).not.toContain("Low VRAM (the bridge drops low_vram)");
    expect(bridgeDefaults("hidream").not_expressible).toContain("learning rate 0.0002");
    expect(bridgeDefaults("qwen_image").not_expressible).toContain("Low VRAM (the bridge drops low_vram)");
    expect(bridgeDefaults("wan21_14b").not_expressible).toContain("video sampling (41 frames at 16 fps)");
    const sdxl = bridgeDefaults("sdxl").not_expressible;
    expect(sdxl.some((line) => line.includes("noise scheduler"))).toBe(false);
    expect(sdxl.some((line) => line.startsWith("quantization"))).toBe(false);
    expect(sdxl).toContain("sample guidance 6 (the bridge writes 7.5)");
    expect(sdxl.some((line) => line.startsWith("timestep type"))).toBe(false);
  });
});
