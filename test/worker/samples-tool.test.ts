import { describe, expect, it } from "vitest";
import { callTool, callToolWith } from "./helpers/mcp";
import { ScriptedToolkit } from "./helpers/scripted-toolkit";
import { FILES, fileOf, JPEG, ORIGIN, imgRoute, PATHS, SAMPLES, sampleUi, uiContext } from "./samples-support";
import { hang, JOB_ID, json } from "./toolkit/ui-scripted";

interface SampleOut {
  step: number;
  index: number;
  prompt: string | null;
  url: string | null;
  url_expires_at: string | null;
  has_thumbnail: boolean;
}

describe("get_training_samples", () => {
  it("answers the newest samples with signed links on the Worker's origin, previews as JPEG image content", async () => {
    const ui = sampleUi();
    const before = Date.now();
    const result = await callToolWith(uiContext(ui), "get_training_samples", { job_id: JOB_ID, count: 3 });
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const structured = result.structuredContent as { job_id: string; steps: number[]; samples: SampleOut[] };
    expect(structured.job_id).toBe(JOB_ID);
    expect(structured.steps).toEqual([0, 500, 1000]);
    expect(structured.samples.map((s) => [s.step, s.index, s.prompt, s.has_thumbnail])).toEqual([
      [500, 0, "a cat", true],
      [500, 1, "a dog", true],
      [1000, 0, "a cat", false],
    ]);
    for (const [i, sample] of structured.samples.entries()) {
      const url = new URL(sample.url!);
      expect(url.origin).toBe(ORIGIN);
      expect(url.pathname).toBe(`/samples/${JOB_ID}/${FILES[i + 1]}`);
      expect(url.searchParams.get("sig")).toMatch(/^[0-9a-f]{64}$/);
      // DOWNLOAD_LINK_TTL_SECONDS (an hour by default) from now.
      const expires = Date.parse(sample.url_expires_at!);
      expect(expires).toBe(Number(url.searchParams.get("expires")) * 1000);
      expect(expires - before).toBeGreaterThanOrEqual(3_599_000);
      expect(expires - before).toBeLessThanOrEqual(3_601_000);
    }
    // One image block per preview, in the samples' order; the video has none.
    const images = result.content.filter((block) => block.type === "image");
    expect(images.map((block) => block.mimeType)).toEqual(["image/jpeg", "image/jpeg"]);
    expect(Uint8Array.fromBase64(images[0]!.data!)).toEqual(JPEG);
    const text = result.content[0]!.text;
    expect(text).toMatch(/step 500 #0: "a cat" https:\/\/mcp\.example\.com\/samples\//);
    expect(text).toMatch(/steps with samples: 0, 500, 1000/);
    // Neither the toolkit's paths nor the UI's own file URLs leave the Worker.
    const everything = JSON.stringify(result);
    expect(everything).not.toContain("/api/");
    expect(everything).not.toContain("/home/me");
  });

  it("answers one step's samples", async () => {
    const result = await callToolWith(uiContext(sampleUi()), "get_training_samples", { job_id: JOB_ID, step: 0 });
    const samples = (result.structuredContent as { samples: SampleOut[] }).samples;
    expect(samples.map((s) => s.step)).toEqual([0]);
    expect(new URL(samples[0]!.url!).pathname).toBe(`/samples/${JOB_ID}/${FILES[0]}`);
  });

  it("lists a sample of a type the route does not serve without a link", async () => {
    const gif = `${SAMPLES}/${fileOf(4000, 1500, 0, "gif")}`;
    const ui = sampleUi().on(`GET /api/jobs/${JOB_ID}/samples`, json({ samples: [...PATHS, gif] }));
    const result = await callToolWith(uiContext(ui), "get_training_samples", { job_id: JOB_ID, count: 2 });
    const samples = (result.structuredContent as { samples: SampleOut[] }).samples;
    expect(samples.map((s) => [s.step, s.url === null, s.url_expires_at === null])).toEqual([
      [1000, false, false],
      [1500, true, true],
    ]);
    expect(result.content[0]?.text).toMatch(/step 1500 #0: "a cat" \(no link: the Worker serves only jpg/);
  });

  it("answers without previews, within the toolkit time-out, when every thumbnail hangs", async () => {
    const ui = sampleUi();
    for (const path of PATHS) ui.on(imgRoute(path), hang);
    const started = Date.now();
    const result = await callToolWith(uiContext(ui, 500), "get_training_samples", { job_id: JOB_ID, count: 4 });
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    const samples = (result.structuredContent as { samples: SampleOut[] }).samples;
    expect(samples.map((s) => s.has_thumbnail)).toEqual([false, false, false, false]);
    expect(samples.every((s) => s.url !== null)).toBe(true);
    expect(result.content.filter((block) => block.type === "image")).toHaveLength(0);
  });

  it("shows the bridge's refusal as an error with its message", async () => {
    const toolkit = new ScriptedToolkit();
    const result = await callTool(toolkit, "get_training_samples", { job_id: JOB_ID });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/cannot hand out sample images.*AI_TOOLKIT_API=ui/);
    expect(result.structuredContent?.kind).toBe("tool");
    expect(toolkit.calls).toHaveLength(0);
  });

  it("shows the UI's own refusal (no samples of that step) as an error", async () => {
    const result = await callToolWith(uiContext(sampleUi()), "get_training_samples", { job_id: JOB_ID, step: 7 });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/no samples of step 7; it has samples of steps 0, 500, 1000/);
  });

  it.each([
    [{ job_id: "../../etc/passwd" }, /job_id must be a job id/],
    [{ job_id: "" }, /job_id must not be empty/],
    [{ job_id: JOB_ID, step: -1 }, /step must not be negative/],
    [{ job_id: JOB_ID, step: 2.5 }, /step must be a whole number/],
    [{ job_id: JOB_ID, count: 0 }, /count must be at least 1/],
    [{ job_id: JOB_ID, count: 13 }, /count must be at most 12/],
    [{ job_id: JOB_ID, path: PATHS[0] }, /path/],
  ])("refuses %j before asking the toolkit", async (args, message) => {
    const ui = sampleUi();
    const result = await callToolWith(uiContext(ui), "get_training_samples", args);
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(message);
    expect(ui.calls).toHaveLength(0);
  });
});
