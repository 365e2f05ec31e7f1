import { describe, expect, it } from "vitest";
import { CAP_HEIGHT, drawText, measureText } from "../../../src/charts/font";
import { Raster } from "../../../src/charts/raster";
import { formatCompact, linearTickFormat, logTicks, niceStep, ticksWithin } from "../../../src/charts/scale";

function inkBox(raster: Raster, background: number) {
  let box = { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity, count: 0 };
  for (let y = 0; y < raster.height; y++) {
    for (let x = 0; x < raster.width; x++) {
      if (raster.pixel(x, y) === background) continue;
      box = {
        left: Math.min(box.left, x),
        top: Math.min(box.top, y),
        right: Math.max(box.right, x + 1),
        bottom: Math.max(box.bottom, y + 1),
        count: box.count + 1,
      };
    }
  }
  return box;
}

describe("bitmap font", () => {
  it("inks every printable character but space, inside its measured box", () => {
    for (let code = 33; code < 127; code++) {
      const char = String.fromCharCode(code);
      const raster = new Raster(20, 20, 0xffffff);
      const advance = drawText(raster, 2, 2, char, { color: 0x000000 });
      const box = inkBox(raster, 0xffffff);
      expect(box.count, char).toBeGreaterThan(0);
      expect(advance, char).toBe(measureText(char));
      expect(box.left, char).toBeGreaterThanOrEqual(2);
      expect(box.right, char).toBeLessThanOrEqual(2 + advance);
      expect(box.bottom, char).toBeLessThanOrEqual(2 + 9);
    }
  });

  it("gives digits one width so tick labels line up, and scales by whole pixels", () => {
    const widths = new Set([..."0123456789"].map((d) => measureText(d)));
    expect([...widths]).toEqual([5]);
    expect(measureText("0.012", 2)).toBe(2 * measureText("0.012"));
    const raster = new Raster(40, 30, 0xffffff);
    drawText(raster, 1, 1, "E", { color: 0x000000, scale: 3 });
    expect(inkBox(raster, 0xffffff)).toMatchObject({ left: 1, top: 1, bottom: 1 + 3 * CAP_HEIGHT });
  });

  it("draws vertical text bottom to top, and unknown characters as '?'", () => {
    const raster = new Raster(20, 40, 0xffffff);
    drawText(raster, 5, 35, "loss", { color: 0x000000, vertical: true });
    const box = inkBox(raster, 0xffffff);
    expect(box.bottom).toBeLessThanOrEqual(35);
    expect(box.top).toBe(35 - measureText("loss"));
    expect(measureText("é")).toBe(measureText("?"));
  });
});

describe("axis scales", () => {
  it("picks 1, 2, 5 × 10^n steps", () => {
    expect(niceStep(1, 5)).toBe(0.2);
    expect(niceStep(1000, 5)).toBe(200);
    expect(niceStep(0.037, 5)).toBe(0.01);
    expect(niceStep(7, 10)).toBe(1);
    expect(niceStep(0, 5)).toBe(1);
    expect(ticksWithin(0, 1, 0.2)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticksWithin(0.15, 0.45, 0.1)).toEqual([0.2, 0.3, 0.4]);
  });

  it("labels linear ticks compactly and alike", () => {
    const label = (ticks: number[], step: number) => ticks.map(linearTickFormat(ticks, step));
    expect(label([0, 0.2, 0.4], 0.2)).toEqual(["0.0", "0.2", "0.4"]);
    expect(label([0.01, 0.012, 0.014], 0.002)).toEqual(["0.010", "0.012", "0.014"]);
    expect(label([0.0012, 0.0014], 0.0002)).toEqual(["1.2e-3", "1.4e-3"]);
    expect(label([0, 5e-5, 1e-4], 5e-5)).toEqual(["0", "5e-5", "1.0e-4"]);
    expect(label([0, 500, 1000], 500)).toEqual(["0", "500", "1000"]);
    expect(label([0, 10000, 20000], 10000)).toEqual(["0", "10k", "20k"]);
    expect(label([12000, 12500], 500)).toEqual(["12.0k", "12.5k"]);
    expect(label([-1, 0, 1], 1)).toEqual(["-1", "0", "1"]);
    expect(label([0, 2e6], 1e6)).toEqual(["0", "2M"]);
    expect(label([-1e307, 0, 1e307], 1e307)).toEqual(["-1e307", "0", "1e307"]);
  });

  it("formats single values with up to 3 significant digits", () => {
    expect(
      [
        0.41234, 0.012, 0.0012, 4.1e-5, 12.34, 1234.5, 12500, 3.2e6, 0, -0.25, 1.8e12, 1e-300, 5e-7, 999_999, 9999.7,
      ].map(formatCompact),
    ).toEqual([
      "0.412",
      "0.012",
      "0.0012",
      "4.1e-5",
      "12.3",
      "1235",
      "12.5k",
      "3.2M",
      "0",
      "-0.25",
      "1.8e12",
      "1e-300",
      "5e-7",
      "1M",
      "10k",
    ]);
  });

  it("places log ticks at 1, 2, 5 × 10^n, or at powers of ten over many decades", () => {
    expect(logTicks(0.04, 0.6, 8)).toEqual([0.05, 0.1, 0.2, 0.5]);
    expect(logTicks(1e-6, 10, 8)).toEqual([1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10]);
    expect(logTicks(1e-12, 1, 5).length).toBeLessThanOrEqual(7);
    const narrow = logTicks(0.31, 0.42, 6);
    expect(narrow.length).toBeGreaterThanOrEqual(2);
    for (const t of narrow) expect(t >= 0.31 && t <= 0.42).toBe(true);
  });
});
