import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Frame, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dashboardHtml } from "../../src/dashboard";
import { launchChromium } from "./browser";
import { startHost, type HostWindow, type RecordedCall } from "./dashboard-host";

/**
 * The training dashboard in Chromium, inside a host built on the MCP Apps SDK's AppBridge:
 * it learns the job from the tool result, draws what the tools answer, refreshes through the
 * host, stops the job on confirmation, and backs off once the job is over.
 */

const JOB_ID = "job-7f3a";

/** A running job as get_training_status answers it (src/jobs/view.ts). */
const runningJob = {
  job_id: JOB_ID,
  config: "portrait_lora_v2",
  status: "running",
  progress: 45,
  current_step: 450,
  total_steps: 1000,
  loss: 0.1432,
  losses: { loss: 0.1432, prior_loss: 0.0611 },
  learning_rate: 0.0001,
  estimated_time_remaining: 382,
  rate: 1.44,
  elapsed_seconds: 312,
  started_at: "2026-05-01T10:00:00.000Z",
  last_update: "2026-05-01T10:05:12.000Z",
  age_seconds: 2,
  freshness: "live",
  toolkit_reachable: true,
  notice: null,
  reason: null,
  traceback: null,
  stopped_by: null,
  stopped_at: null,
  finished_at: null,
  estimated_time: null,
};

/** The page-side answers: built in the browser, where the sample images are drawn. */
const answers = `function () {
  var job = ${JSON.stringify(runningJob)};
  var points = [];
  for (var step = 10; step <= 450; step += 10) {
    var wobble = Math.sin(step * 0.37) * 0.012 + Math.sin(step * 0.11) * 0.008;
    points.push({ step: step, losses: { loss: 0.13 + 0.32 * Math.exp(-step / 110) + wobble,
      prior_loss: 0.055 + 0.09 * Math.exp(-step / 160) + wobble / 3 } });
  }
  var prompts = ["a portrait of sks person in a sunlit cafe, film photo", "sks person as an astronaut, studio lighting",
    "watercolor painting of sks person by the sea"];
  return {
    get_training_status: { content: [{ type: "text", text: "running" }], structuredContent: job },
    get_training_metrics: { content: [{ type: "text", text: "metrics" }], structuredContent: { job_id: job.job_id,
      status: "running", terms: ["loss", "prior_loss"], points: points, summary: {}, stored_points: points.length,
      stored_stride: 1 } },
    get_system_stats: { content: [{ type: "text", text: "stats" }], structuredContent: { cpu_percent: 31,
      memory_percent: 48, disk_usage: 62, gpus: [{ index: 0, name: "RTX 4090", temperature: 67, utilization: { gpu: 98,
      memory: 61 }, memory: { total: 24564, used: 14540, free: 10024 } }] } },
    // As the Worker's tool answers: previews as image blocks, in the order of the samples that have one
    // (step 300's has none, so the blocks and the samples do not line up one to one).
    get_training_samples: { content: [{ type: "text", text: "4 samples" }].concat([0, 1, 2].map(function (i) {
      return { type: "image", mimeType: "image/jpeg", data: host.sample(200 + i * 50, i).split(",")[1] }; })),
      structuredContent: { job_id: job.job_id, steps: [250, 300, 350, 450], samples: [250, 300, 350, 450].map(
      function (step, i) { return { step: step, index: 0, prompt: prompts[i === 3 ? 2 : i === 2 ? 1 : 0],
      url: "https://worker.test/samples/" + job.job_id + "/" + step + ".jpg?expires=1&sig=00",
      url_expires_at: "2026-01-01T00:00:00.000Z", has_thumbnail: step !== 300 }; }) } },
    stop_training: { content: [{ type: "text", text: "Stop requested for job " + job.job_id + "." }],
      structuredContent: { job_id: job.job_id, status: "running" } },
  };
}`;

describe("the training dashboard as an MCP App", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function openDashboard(
    theme: "light" | "dark",
    answerSource = answers,
  ): Promise<{ page: Page; app: Frame; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 808, height: 1100 }, deviceScaleFactor: 2 });
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await startHost(
      page,
      dashboardHtml(),
      theme,
      { job_id: JOB_ID },
      { content: [{ type: "text", text: "running" }], structuredContent: runningJob },
      answerSource,
    );
    const handle = await page.waitForSelector("iframe");
    const app = await handle.contentFrame();
    if (!app) throw new Error("the App's frame did not load");
    return { page, app, errors };
  }

  const calls = (page: Page): Promise<RecordedCall[]> =>
    page.evaluate(() => (window as unknown as HostWindow).host.calls);
  const callsOf = async (page: Page, name: string) => (await calls(page)).filter((call) => call.name === name);

  it(
    "shows a running job, its chart, samples and GPU, " + "stops it on confirmation, and backs off once it is over",
    async () => {
      const { page, app, errors } = await openDashboard("light");

      await expect.poll(() => app.locator("#status").textContent(), { timeout: 10_000 }).toBe("running");
      await expect.poll(() => app.locator("#chart svg path.line").count(), { timeout: 10_000 }).toBe(2);
      expect(await app.locator("#title").textContent()).toBe("portrait_lora_v2");
      expect(await app.locator("#step").textContent()).toBe("Step 450 / 1,000");
      expect(await app.locator("#bar-fill").getAttribute("style")).toContain("width: 45%");
      expect(await app.locator("#eta").textContent()).toContain("≈ 6 min left");
      expect(await app.locator("#eta").textContent()).toContain("1.44 it/s");
      expect(await app.locator("#loss").textContent()).toBe("0.1432");

      // Every refresh went through the host, for this job.
      expect((await callsOf(page, "get_training_status"))[0]?.arguments).toEqual({ job_id: JOB_ID });
      expect((await callsOf(page, "get_training_samples"))[0]?.arguments).toEqual({ job_id: JOB_ID, count: 6 });

      // Samples, newest first, with step and prompt.
      await expect.poll(() => app.locator("#samples img").count(), { timeout: 10_000 }).toBe(3);
      expect(await app.locator("#samples figcaption").first().textContent()).toContain("Step 450");
      expect(await app.locator("#samples figcaption").first().textContent()).toContain("watercolor painting");
      expect(await app.locator("#samples img").first().getAttribute("src")).toMatch(/^data:image\/jpeg;base64,/);

      // GPU memory (MiB from the UI server, shown in GB) and temperature.
      await expect.poll(() => app.locator("#gpu-mem").textContent()).toBe("14.2 / 24 GB");
      expect(await app.locator("#gpu-name").textContent()).toContain("RTX 4090");
      expect(await app.locator("#gpu-temp").textContent()).toBe("67 °C · 98%");

      // Hovering the chart shows the step and the values there.
      // The page redraws the chart on each refresh, so the hover area is found (and hovered) afresh
      // until the tip shows.
      const plot = app.locator("#chart svg rect");
      await expect
        .poll(
          async () => {
            const box = await plot.boundingBox();
            if (!box) return false;
            await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.5);
            return app.locator("#chart .tip").isVisible();
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      const tip = (await app.locator("#chart .tip").textContent()) ?? "";
      expect(tip).toMatch(/Step \d+/);
      expect(tip).toMatch(/loss 0\.\d+/);
      expect(tip).toContain("prior_loss");

      // Toggling a term hides its line; toggling it back restores it.
      await app.locator('.chip[data-term="prior_loss"]').click();
      expect(await app.locator("#chart svg path.line").count()).toBe(1);
      expect(await app.locator('#chart svg path.line[data-term="prior_loss"]').count()).toBe(0);
      expect(await app.locator('.chip[data-term="prior_loss"]').getAttribute("aria-pressed")).toBe("false");
      await app.locator('.chip[data-term="prior_loss"]').click();
      expect(await app.locator("#chart svg path.line").count()).toBe(2);

      // The log scale redraws the same lines on other axes.
      const linear = await app.locator('#chart svg path.line[data-term="loss"]').getAttribute("d");
      await app.locator("#log-scale").check();
      expect(await app.locator('#chart svg path.line[data-term="loss"]').getAttribute("d")).not.toBe(linear);
      await app.locator("#log-scale").uncheck();

      // It keeps polling while the job runs.
      await expect
        .poll(async () => (await callsOf(page, "get_training_status")).length, { timeout: 15_000 })
        .toBeGreaterThanOrEqual(2);

      // Stop asks first, then calls stop_training through the host and shows the answer.
      await app.locator("#stop").click();
      expect(await callsOf(page, "stop_training")).toHaveLength(0);
      await app.locator("#stop-yes").click();
      await expect
        .poll(async () => (await callsOf(page, "stop_training")).map((call) => call.arguments))
        .toEqual([{ job_id: JOB_ID }]);
      await expect.poll(() => app.locator("#notice").textContent()).toBe(`Stop requested for job ${JOB_ID}.`);

      // Once the job reports it is over, the page slows down and then stops asking.
      await page.evaluate(() => {
        const { answers } = (window as unknown as HostWindow).host;
        const status = answers.get_training_status as { structuredContent: Record<string, unknown> };
        answers.get_training_status = {
          ...status,
          structuredContent: {
            ...status.structuredContent,
            status: "stopped",
            stopped_by: "the owner",
            estimated_time_remaining: null,
          },
        };
      });
      await expect.poll(() => app.locator("#status").textContent(), { timeout: 15_000 }).toBe("stopped");
      expect(await app.locator("#stop-box").isHidden()).toBe(true);
      await expect.poll(() => app.locator("#polling").textContent()).toBe("Refreshing every 30 s");
      const settled = (await callsOf(page, "get_training_status")).length;
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      expect((await callsOf(page, "get_training_status")).length).toBe(settled);

      // The App told the host its height, and nothing broke the page's policy.
      expect(
        (await page.evaluate(() => (window as unknown as HostWindow).host.sizes)).some(
          (size) => (size.height ?? 0) > 500,
        ),
      ).toBe(true);
      expect(errors).toEqual([]);
      await page.close();
    },
    90_000,
  );

  // Headless Chromium stops routing clicks into the frame after an element screenshot, so the
  // pictures are taken on a page of their own. They refresh the README's pictures only when
  // asked (UPDATE_SCREENSHOTS=1): an ordinary run must not rewrite tracked files.
  it("follows the host's theme, light and dark (docs/images)", async () => {
    const shots = process.env.UPDATE_SCREENSHOTS === "1" ? "docs/images" : await mkdtemp(join(tmpdir(), "dashboard-"));
    const { page, app, errors } = await openDashboard("light");
    await expect.poll(() => app.locator("#samples img").count(), { timeout: 10_000 }).toBe(3);
    await expect.poll(() => app.locator("#gpu-temp-tile").isVisible()).toBe(true);
    const background = () => app.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.locator("iframe").screenshot({ path: join(shots, "dashboard-light.png") });
    await page.evaluate(() => (window as unknown as HostWindow).host.setTheme("dark"));
    await expect.poll(() => app.evaluate(() => document.documentElement.dataset.theme)).toBe("dark");
    expect(await background()).not.toBe(light);
    await page.locator("iframe").screenshot({ path: join(shots, "dashboard-dark.png") });
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("replaces the samples with a note when the server has no samples tool", async () => {
    const withoutSamples = `function () { var all = (${answers})(); delete all.get_training_samples; return all; }`;
    const { page, app } = await openDashboard("dark", withoutSamples);
    await expect
      .poll(() => app.locator("#samples-note").textContent(), { timeout: 10_000 })
      .toBe("This server does not offer training samples.");
    expect(await app.locator("#samples").isHidden()).toBe(true);
    await expect.poll(() => app.locator("#chart svg path.line").count()).toBe(2);
    await page.close();
  }, 60_000);
});
