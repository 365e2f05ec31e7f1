import { describe, expect, it } from "vitest";
import { cleanSeries, quantile, reducePerColumn, smoothSeries } from "../../../src/charts/series";

describe("cleanSeries", () => {
  it("drops non-finite points, sorts by step and merges duplicate steps into their mean", () => {
    const series = cleanSeries([
      { step: 3, value: 0.3 },
      { step: 1, value: NaN },
      { step: 2, value: 0.2 },
      { step: 2, value: 0.4 },
      { step: Infinity, value: 1 },
      { step: 1, value: -Infinity },
      { step: 0, value: -0.5 },
      null as unknown as { step: number; value: number },
      { step: 4, value: "5" as unknown as number },
    ]);
    expect([...series.steps]).toEqual([0, 2, 3]);
    expect([...series.values].map((v) => Number(v.toFixed(6)))).toEqual([-0.5, 0.3, 0.3]);
  });

  it("keeps only positive values for a log axis", () => {
    const series = cleanSeries(
      [
        { step: 1, value: 0 },
        { step: 2, value: -1 },
        { step: 3, value: 0.5 },
      ],
      true,
    );
    expect([...series.steps]).toEqual([3]);
  });
});

describe("smoothSeries", () => {
  const steps = (n: number, every = 1) => Float64Array.from({ length: n }, (_, i) => i * every);

  it("keeps a constant series constant and starts at the mean of the first points", () => {
    const flat = smoothSeries({ steps: steps(50), values: new Float64Array(50).fill(0.7) }, 10);
    for (const v of flat) expect(v).toBeCloseTo(0.7, 12);
    const alternating = smoothSeries({ steps: steps(2), values: Float64Array.from([0, 1]) }, 1e9);
    expect(alternating[1]).toBeCloseTo(0.5, 6);
  });

  it("equals TensorBoard's debiased EMA for evenly spaced steps", () => {
    const values = Float64Array.from([1, 3, 2, 5, 4, 4, 0, 2]);
    const weight = 0.6;
    const ours = smoothSeries({ steps: steps(values.length), values }, -1 / Math.log(weight));
    let last = 0;
    values.forEach((v, i) => {
      last = last * weight + (1 - weight) * v;
      expect(ours[i]).toBeCloseTo(last / (1 - weight ** (i + 1)), 10);
    });
  });

  it("weighs by step distance: a thinned history smooths like the full one", () => {
    const full = Float64Array.from({ length: 1000 }, (_, i) => Math.exp(-i / 200));
    const thinned = Float64Array.from({ length: 100 }, (_, i) => full[i * 10]!);
    const a = smoothSeries({ steps: steps(1000), values: full }, 50);
    const b = smoothSeries({ steps: steps(100, 10), values: thinned }, 50);
    expect(b[99]).toBeCloseTo(a[990]!, 2);
  });

  it("returns the values when the time constant is 0", () => {
    const values = Float64Array.from([3, 1, 2]);
    expect([...smoothSeries({ steps: steps(3), values }, 0)]).toEqual([3, 1, 2]);
  });
});

describe("reducePerColumn", () => {
  it("keeps first, lowest, highest and last of each pixel column, in order", () => {
    const n = 10_000;
    const xs = Float64Array.from({ length: n }, (_, i) => (i / n) * 100);
    const ys = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 50 + i * 0.001);
    const reduced = reducePerColumn(xs, ys);
    expect(reduced.xs.length).toBeLessThanOrEqual(4 * 101);
    for (let column = 0; column < 100; column++) {
      const inColumn = (array: { xs: Float64Array; ys: Float64Array }) =>
        [...array.ys].filter((_, i) => Math.floor(array.xs[i]!) === column);
      const original = inColumn({ xs, ys });
      const kept = inColumn(reduced);
      expect(Math.min(...kept)).toBe(Math.min(...original));
      expect(Math.max(...kept)).toBe(Math.max(...original));
      expect(kept[0]).toBe(original[0]);
      expect(kept[kept.length - 1]).toBe(original[original.length - 1]);
    }
    for (let i = 1; i < reduced.xs.length; i++) expect(reduced.xs[i]!).toBeGreaterThanOrEqual(reduced.xs[i - 1]!);
  });

  it("leaves a sparse line alone", () => {
    const xs = Float64Array.from([0, 10, 20]);
    expect(reducePerColumn(xs, Float64Array.from([1, 2, 3])).xs).toBe(xs);
  });

  it("interpolates quantiles", () => {
    const sorted = Float64Array.from([0, 10, 20, 30, 40]);
    expect(quantile(sorted, 0)).toBe(0);
    expect(quantile(sorted, 0.5)).toBe(20);
    expect(quantile(sorted, 0.125)).toBe(5);
    expect(quantile(new Float64Array(0), 0.5)).toBeNaN();
  });
});
