import { describe, expect, it } from "vitest";
import { renderLossChart } from "../../../src/charts/loss-chart";
import { planLossChart, type LossChartOptions } from "../../../src/charts/loss-layout";
import { THEMES } from "../../../src/charts/theme";
import { colourDistance2, decodePng, noisyLoss, type DecodedPng } from "./decode-png";

const light = THEMES.light;
/** Timeout for tests rendering many charts or many points (CI machines can be slow). */
const HEAVY = 30_000;
const rising = Array.from({ length: 101 }, (_, i) => ({ step: i * 10, value: i / 100 }));

/** Whether a pixel within `radius` of x, y has exactly `colour`. */
function colourNear(png: DecodedPng, x: number, y: number, colour: number, radius = 2): boolean {
  for (let dy = -radius; dy <= radius; dy++) {
    for (let dx = -radius; dx <= radius; dx++) {
      const px = Math.round(x) + dx;
      const py = Math.round(y) + dy;
      if (px >= 0 && py >= 0 && px < png.width && py < png.height && png.pixel(px, py) === colour) return true;
    }
  }
  return false;
}

/** How many pixels in a rectangle are close to `colour` (strong line, not its faint trace). */
function countLike(png: DecodedPng, left: number, top: number, right: number, bottom: number, colour: number): number {
  let count = 0;
  for (let y = top; y < bottom; y++)
    for (let x = left; x < right; x++) if (colourDistance2(png.pixel(x, y), colour) < 40 * 40) count++;
  return count;
}

function render(options: LossChartOptions): DecodedPng {
  return decodePng(renderLossChart(options));
}

describe("renderLossChart", () => {
  it("is a valid PNG of the asked size, 800×400 by default", () => {
    const png = render({ series: [{ name: "loss", points: rising }] });
    expect(png).toMatchObject({ width: 800, height: 400 });
    expect(render({ series: [{ name: "loss", points: rising }], width: 640, height: 300 })).toMatchObject({
      width: 640,
      height: 300,
    });
    // An opaque background of its own in the corners.
    expect(png.pixel(0, 0)).toBe(light.background);
    expect(png.pixel(799, 399)).toBe(light.background);
    expect(render({ series: [], theme: "dark" }).pixel(0, 0)).toBe(THEMES.dark.background);
  });

  it("draws a rising series from the bottom left to the top right, where the plan says", () => {
    const options = { series: [{ name: "loss", points: rising }], smoothing: 0 };
    const png = render(options);
    const plan = planLossChart(options);
    const colour = light.series[0]!;
    for (const step of [50, 200, 400, 600, 800, 950]) {
      expect(colourNear(png, plan.xPixel(step), plan.yPixel(step / 1000), colour), `step ${step}`).toBe(true);
    }
    const { left, top, right, bottom } = plan.plot;
    const w = Math.floor((right - left) / 4);
    const h = Math.floor((bottom - top) / 4);
    expect(countLike(png, left, bottom - h, left + w, bottom, colour)).toBeGreaterThan(20);
    expect(countLike(png, right - w, top, right, top + h, colour)).toBeGreaterThan(20);
    expect(countLike(png, left, top, left + w, top + h, colour)).toBe(0);
    expect(countLike(png, right - w, bottom - h, right, bottom, colour)).toBe(0);
  });

  it("keeps the smoothed line on a noisy series' trend and gives each series its colour", () => {
    const options: LossChartOptions = {
      series: [
        { name: "loss", points: noisyLoss(2000, { base: 0.6, drop: 0, noise: 0.3, seed: 3 }) },
        { name: "prior_loss", points: noisyLoss(2000, { base: 0.1, drop: 0, noise: 0.3, seed: 4 }) },
      ],
    };
    const png = render(options);
    const plan = planLossChart(options);
    for (const step of [400, 1000, 1600]) {
      expect(colourNear(png, plan.xPixel(step), plan.yPixel(0.6), light.series[0]!, 8), `loss at ${step}`).toBe(true);
      expect(colourNear(png, plan.xPixel(step), plan.yPixel(0.1), light.series[1]!, 8), `prior_loss at ${step}`).toBe(
        true,
      );
    }
  });

  it("marks the current step with a line of its colour and extends the axis to totalSteps", () => {
    const options = { series: [{ name: "loss", points: rising.slice(0, 61) }], currentStep: 600, totalSteps: 1000 };
    const png = render(options);
    const plan = planLossChart(options);
    expect(plan.x.hi).toBe(1000);
    expect(plan.x.ticks).toContain(1000);
    const column = Math.floor(plan.xPixel(600));
    let marked = 0;
    for (let y = plan.plot.top; y < plan.plot.bottom; y++) if (png.pixel(column, y) === light.marker) marked++;
    expect(marked / (plan.plot.bottom - plan.plot.top)).toBeGreaterThan(0.8);
    // The steps still to train are shaded; the column past the last tick is too.
    expect(png.pixel(column + 40, plan.plot.bottom - 5)).toBe(light.remaining);
    expect(png.pixel(column - 40, plan.plot.bottom - 5)).not.toBe(light.remaining);
  });

  it("labels the axes with nice ticks", () => {
    const plan = planLossChart({ series: [{ name: "loss", points: noisyLoss(500) }], totalSteps: 2000 });
    expect(plan.x.ticks).toEqual([0, 500, 1000, 1500, 2000]);
    for (const tick of plan.y.ticks)
      expect(Number((tick / (plan.y.ticks[1]! - plan.y.ticks[0]!)).toFixed(6)) % 1).toBe(0);
    expect(plan.y.ticks.map(plan.y.label)).toContain("0.4");
    const tiny = planLossChart({
      series: [{ name: "loss", points: rising.map((p) => ({ step: p.step, value: p.value * 1e-4 })) }],
    });
    expect(tiny.y.ticks.map(tiny.y.label).some((label) => /e-/.test(label))).toBe(true);
  });

  it(
    "survives empty, one-point, flat, NaN, negative, unsorted and duplicated input",
    () => {
      const cases: LossChartOptions[] = [
        { series: [] },
        { series: [{ name: "loss", points: [] }] },
        { series: [{ name: "loss", points: [{ step: 5, value: 0.3 }] }], currentStep: 5 },
        { series: [{ name: "loss", points: [{ step: 0, value: 0 }] }] },
        { series: [{ name: "loss", points: Array.from({ length: 100 }, (_, i) => ({ step: i, value: 0.25 })) }] },
        {
          series: [
            {
              name: "loss",
              points: [
                { step: 1, value: NaN },
                { step: 2, value: Infinity },
                { step: NaN, value: 1 },
              ],
            },
          ],
        },
        { series: [{ name: "loss", points: [...rising, { step: 500, value: NaN }, { step: 600, value: -Infinity }] }] },
        { series: [{ name: "loss", points: rising.map((p) => ({ step: p.step, value: p.value - 0.7 })) }] },
        { series: [{ name: "loss", points: [...rising].reverse().concat(rising) }] },
        { series: [{ name: "loss", points: rising }], logY: true },
        { series: [{ name: "loss", points: rising.map((p) => ({ step: p.step, value: -p.value })) }], logY: true },
        {
          series: [
            {
              name: "loss",
              points: [
                { step: 3, value: 1e300 },
                { step: 4, value: -1e300 },
              ],
            },
          ],
        },
        {
          series: [
            {
              name: "loss",
              points: [
                { step: 3, value: Number.MAX_VALUE },
                { step: 4, value: -Number.MAX_VALUE },
              ],
            },
          ],
        },
        {
          series: [
            {
              name: "loss",
              points: [
                { step: -Number.MAX_VALUE, value: 1 },
                { step: Number.MAX_VALUE, value: 2 },
              ],
            },
          ],
        },
        {
          series: [
            {
              name: "loss",
              points: [
                { step: 1e20, value: 1 },
                { step: 1e20, value: 2 },
              ],
            },
          ],
          currentStep: 1e20,
        },
        {
          series: [
            {
              name: "loss",
              points: [
                { step: 0, value: Number.MIN_VALUE },
                { step: 1, value: Number.MAX_VALUE },
              ],
            },
          ],
          logY: true,
        },
        { series: [{ name: "loss", points: rising }], currentStep: -50, totalSteps: NaN, width: 10, height: 1e9 },
        {
          series: [{ name: "", points: rising }],
          title: "héllo wörld ✓",
          theme: "dark",
          currentStep: 1000,
          totalSteps: 1000,
        },
        { series: Array.from({ length: 12 }, (_, i) => ({ name: `term_number_${i}`, points: rising })) },
      ];
      for (const options of cases) {
        const png = render(options);
        expect(png.width).toBeGreaterThan(0);
      }
    },
    HEAVY,
  );

  it("draws log-scaled values at their log positions", () => {
    const points = [1, 10, 100, 1000].map((v, i) => ({ step: i * 100, value: v / 1000 }));
    const options = { series: [{ name: "loss", points }], logY: true, smoothing: 0 };
    const plan = planLossChart(options);
    const ys = points.map((p) => plan.yPixel(p.value));
    expect(ys[0]! - ys[1]!).toBeCloseTo(ys[1]! - ys[2]!, 6);
    expect(plan.y.ticks).toEqual(expect.arrayContaining([0.001, 0.01, 0.1, 1]));
    const png = render(options);
    expect(colourNear(png, plan.xPixel(200), plan.yPixel(0.1), light.series[0]!)).toBe(true);
  });

  it(
    "stays under 100 KB for a realistic 3-series, 2,000-point chart",
    () => {
      const png = renderLossChart({
        title: "my_flux_lora",
        series: [
          { name: "loss", points: noisyLoss(2000, { seed: 1, base: 0.32, drop: 0.25, noise: 0.35 }) },
          { name: "diff_loss", points: noisyLoss(2000, { seed: 2, base: 0.22, drop: 0.15, noise: 0.3 }) },
          { name: "prior_loss", points: noisyLoss(2000, { seed: 3, base: 0.05, drop: 0.03, noise: 0.4 }) },
        ],
        currentStep: 2000,
        totalSteps: 3000,
      });
      expect(png.length).toBeLessThan(100_000);
      decodePng(png);
      const dark = renderLossChart({
        series: [{ name: "loss", points: noisyLoss(2000, { noise: 0.5 }) }],
        theme: "dark",
      });
      expect(dark.length).toBeLessThan(100_000);
    },
    HEAVY,
  );

  it(
    "draws 3 × 100k points, reduced per pixel column",
    () => {
      const series = [1, 2, 3].map((seed) => ({
        name: `loss_${seed}`,
        points: noisyLoss(100_000, { seed, noise: 0.4 }),
      }));
      const png = renderLossChart({ series, currentStep: 100_000 });
      const logPng = renderLossChart({ series, logY: true, theme: "dark" });
      for (const bytes of [png, logPng]) {
        expect(decodePng(bytes).width).toBe(800);
        expect(bytes.length).toBeLessThan(100_000);
      }
    },
    HEAVY,
  );
});
