import { encodePng } from "./png";
import { Raster, type Rgb } from "./raster";
import { cleanSeries, reducePerColumn, smoothSeries, type ChartPoint } from "./series";
import { themeFor, type ThemeName } from "./theme";

export interface SparklineOptions {
  points: readonly ChartPoint[];
  width?: number;
  height?: number;
  theme?: ThemeName;
  /** Line colour; the theme's first series colour by default. */
  color?: Rgb;
  /**
   * As for the loss chart: the smoothing time constant as a fraction of the steps spanned;
   * 0.05 by default (a sparkline has room for the trend, not for the noise).
   */
  smoothing?: number;
}

/**
 * A small PNG of one series for a status line: no axes or text, the smoothed line strong
 * and scaled to fill the strip, the raw values faint behind it, a dot on the latest value.
 * Non-finite values are skipped; with no points at all it is an empty strip.
 */
export function renderSparkline(options: SparklineOptions): Uint8Array {
  const raster = drawSparkline(options);
  return encodePng(raster.width, raster.height, raster.data);
}

/** The sparkline as pixels, before encoding (for tests and previews). */
export function drawSparkline(options: SparklineOptions): Raster {
  const width = size(options.width, 240);
  const height = size(options.height, 48);
  const theme = themeFor(options.theme);
  const color = options.color ?? theme.series[0]!;
  const raster = new Raster(width, height, theme.background);
  const data = cleanSeries(Array.isArray(options.points) ? options.points : []);
  const n = data.steps.length;
  if (n === 0) return raster;

  const first = data.steps[0]!;
  const last = data.steps[n - 1]!;
  const smoothing = typeof options.smoothing === "number" && options.smoothing >= 0 ? options.smoothing : 0.05;
  const smoothed = smoothSeries(data, smoothing * (last - first));

  // Value range: the smoothed line's, so the trend fills the strip; raw spikes are clipped.
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of smoothed) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const margin = hi - lo > Math.abs(hi) * 1e-9 ? (hi - lo) * 0.1 : Math.abs(lo) * 0.1 || 1;
  lo -= margin;
  hi += margin;

  const pad = Math.max(2, Math.round(height / 12));
  const dotRadius = Math.max(1.5, height / 20);
  const left = pad;
  const right = width - pad - Math.ceil(dotRadius);
  const top = pad;
  const bottom = height - pad;
  const xOf = (step: number) =>
    last > first ? left + ((step - first) / (last - first)) * (right - left) : (left + right) / 2;
  const yOf = (value: number) => bottom - ((value - lo) / (hi - lo)) * (bottom - top);
  const pixels = (values: Float64Array) => {
    const xs = new Float64Array(n);
    const ys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      xs[i] = xOf(data.steps[i]!);
      ys[i] = yOf(values[i]!);
    }
    return reducePerColumn(xs, ys);
  };

  raster.clip = { left: 0, top: 1, right: width, bottom: height - 1 };
  const raw = pixels(data.values);
  raster.strokePolyline(raw.xs, raw.ys, { color, width: 1, alpha: theme.rawAlpha });
  const line = pixels(smoothed);
  raster.strokePolyline(line.xs, line.ys, { color, width: Math.max(1.5, height / 32) });
  raster.dot(xOf(last), yOf(smoothed[n - 1]!), dotRadius, color);
  raster.clip = raster.bounds();
  return raster;
}

function size(value: number | undefined, fallback: number): number {
  const v = typeof value === "number" && Number.isFinite(value) ? Math.round(value) : fallback;
  return Math.min(2048, Math.max(8, v));
}
