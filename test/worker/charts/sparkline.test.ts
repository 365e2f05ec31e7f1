import { describe, expect, it } from "vitest";
import { renderSparkline } from "../../../src/charts/sparkline";
import { THEMES } from "../../../src/charts/theme";
import { colourDistance2, decodePng, noisyLoss } from "./decode-png";

const colour = THEMES.light.series[0]!;

function strongPixels(
  png: ReturnType<typeof decodePng>,
  left: number,
  right: number,
  top: number,
  bottom: number,
): number {
  let count = 0;
  for (let y = top; y < bottom; y++)
    for (let x = left; x < right; x++) if (colourDistance2(png.pixel(x, y), colour) < 30 * 30) count++;
  return count;
}

describe("renderSparkline", () => {
  it("is a small PNG of the asked size, 240×48 by default", () => {
    const bytes = renderSparkline({ points: noisyLoss(500) });
    const png = decodePng(bytes);
    expect(png).toMatchObject({ width: 240, height: 48 });
    expect(bytes.length).toBeLessThan(10_000);
    expect(decodePng(renderSparkline({ points: noisyLoss(50), width: 120, height: 20 }))).toMatchObject({
      width: 120,
      height: 20,
    });
  });

  it("rises from the bottom left to the top right for a rising series", () => {
    const png = decodePng(renderSparkline({ points: Array.from({ length: 200 }, (_, i) => ({ step: i, value: i })) }));
    expect(strongPixels(png, 0, 60, 24, 48)).toBeGreaterThan(10);
    expect(strongPixels(png, 180, 240, 0, 24)).toBeGreaterThan(10);
    expect(strongPixels(png, 0, 60, 0, 16)).toBe(0);
    expect(strongPixels(png, 180, 240, 32, 48)).toBe(0);
  });

  it("survives empty, one-point, flat, NaN and 100k-point input", () => {
    const empty = decodePng(renderSparkline({ points: [] }));
    expect(empty.pixel(120, 24)).toBe(THEMES.light.background);
    const one = decodePng(renderSparkline({ points: [{ step: 7, value: 0.3 }] }));
    expect(strongPixels(one, 0, 240, 0, 48)).toBeGreaterThan(0);
    renderSparkline({ points: Array.from({ length: 50 }, (_, i) => ({ step: i, value: 2 })) });
    renderSparkline({
      points: [
        { step: 1, value: NaN },
        { step: 2, value: Infinity },
        { step: 3, value: 1 },
        { step: 3, value: 2 },
      ],
    });
    renderSparkline({ points: undefined as never, width: NaN, height: -4 });
    const big = renderSparkline({ points: noisyLoss(100_000), theme: "dark" });
    expect(decodePng(big).pixel(0, 0)).toBe(THEMES.dark.background);
  }, 30_000);
});
