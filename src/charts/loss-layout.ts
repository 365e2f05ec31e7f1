import { CAP_HEIGHT, LINE_HEIGHT, measureText } from "./font";
import type { Rect, Rgb } from "./raster";
import { linearTickFormat, logTicks, formatCompact, niceStep, ticksWithin } from "./scale";
import { cleanSeries, quantile, smoothSeries, type ChartPoint, type CleanSeries } from "./series";
import { seriesColor, themeFor, type Theme, type ThemeName } from "./theme";

export interface LossSeries {
  /** The loss term, shown in the legend ("loss", "diff_loss"...). */
  name: string;
  points: readonly ChartPoint[];
}

export interface LossChartOptions {
  series: readonly LossSeries[];
  /** Marked with a vertical line. */
  currentStep?: number;
  /** When given, the step axis runs to it, and the steps still to train are shaded. */
  totalSteps?: number;
  title?: string;
  width?: number;
  height?: number;
  theme?: ThemeName;
  /** Log-scale loss axis; values ≤ 0 are then left out. */
  logY?: boolean;
  /**
   * Strength of the smoothed line: the time constant of its exponential moving average as
   * a fraction of the steps the data spans (0.02: a point 2% of the run back weighs 1/e of
   * the newest). 0 draws the raw values as the strong line. Default 0.02.
   */
  smoothing?: number;
}

export interface Axis {
  lo: number;
  hi: number;
  ticks: number[];
  label: (value: number) => string;
  log: boolean;
}

export interface PlannedSeries {
  name: string;
  color: Rgb;
  data: CleanSeries;
  smoothed: Float64Array;
}

/** Where everything goes: the chart is drawn from this, and tests check pixels against it. */
export interface LossChartPlan {
  width: number;
  height: number;
  /** Integer text scale: 1 up to 800×400, more for bigger charts. */
  scale: number;
  theme: Theme;
  plot: Rect;
  x: Axis;
  y: Axis;
  series: PlannedSeries[];
  currentStep?: number | undefined;
  totalSteps?: number | undefined;
  title?: string | undefined;
  /** Pixel x of the centre of the column showing `step`. */
  xPixel(step: number): number;
  /** Pixel y for a loss value (log axis: log-scaled). */
  yPixel(value: number): number;
}

export const DEFAULT_SMOOTHING = 0.02;

export function planLossChart(options: LossChartOptions): LossChartPlan {
  const width = clampSize(options.width, 800);
  const height = clampSize(options.height, 400);
  const scale = Math.max(1, Math.floor(Math.min(width / 800, height / 400)));
  const theme = themeFor(options.theme);
  const logY = options.logY === true;
  const smoothing = Math.max(0, finiteOr(options.smoothing, DEFAULT_SMOOTHING));

  const cleaned = (options.series ?? []).map((s) => cleanSeries(Array.isArray(s?.points) ? s.points : [], logY));
  let minStep = Infinity;
  let maxStep = -Infinity;
  for (const { steps } of cleaned) {
    if (steps.length === 0) continue;
    minStep = Math.min(minStep, steps[0]!);
    maxStep = Math.max(maxStep, steps[steps.length - 1]!);
  }
  const timeConstant = Number.isFinite(minStep) ? smoothing * (maxStep - minStep) : 0;
  const series = cleaned.map((data, i) => ({
    name: String(options.series[i]?.name ?? `series ${i + 1}`),
    color: seriesColor(theme, i),
    data,
    smoothed: smoothSeries(data, timeConstant),
  }));
  const currentStep = finiteOr(options.currentStep, undefined);
  const totalSteps = finiteOr(options.totalSteps, undefined);

  // Vertical layout first: it does not depend on the labels.
  const pad = 10 * scale;
  const charH = CAP_HEIGHT * scale;
  const top = pad + LINE_HEIGHT * scale + 8 * scale;
  const bottom = height - pad - charH - 8 * scale - charH - 6 * scale;
  const plotHeight = Math.max(8, bottom - top);

  const y = yAxis(series, logY, Math.max(2, Math.min(8, Math.floor(plotHeight / (36 * scale)))));
  const yLabelWidth = Math.max(...y.ticks.map((t) => measureText(y.label(t), scale)), 0);
  const left = pad + charH + 10 * scale + yLabelWidth + 6 * scale;

  let xlo = Number.isFinite(minStep) ? limit(minStep) : 0;
  let xhi = limit(Math.max(Number.isFinite(maxStep) ? maxStep : 0, totalSteps ?? -Infinity, currentStep ?? -Infinity));
  if (xlo >= 0 && xlo <= 0.25 * xhi) xlo = 0;
  if (!(xhi > xlo)) {
    if (xlo > 0) xlo = 0;
    else xhi = xlo + Math.max(1, Math.abs(xlo));
  }
  const right0 = width - pad;
  const x = xAxis(xlo, xhi, right0 - left, scale);
  const lastLabel = x.ticks.length > 0 ? measureText(x.label(x.ticks[x.ticks.length - 1]!), scale) : 0;
  const right = Math.max(left + 8, width - Math.max(pad, Math.ceil(lastLabel / 2) + 4 * scale));
  const plot = { left, top, right, bottom: top + plotHeight };

  const xPixel = (step: number) => plot.left + 0.5 + ((step - x.lo) / (x.hi - x.lo)) * (plot.right - plot.left - 1);
  const toAxis = (value: number) => (logY ? Math.log10(value) : value);
  const yPixel = (value: number) =>
    plot.bottom - 0.5 - ((toAxis(value) - y.lo) / (y.hi - y.lo)) * (plot.bottom - plot.top - 1);
  return {
    width,
    height,
    scale,
    theme,
    plot,
    x,
    y,
    series,
    currentStep,
    totalSteps,
    title: options.title,
    xPixel,
    yPixel,
  };
}

/** Axis ends within ±1e307, so their difference stays finite. */
function limit(value: number): number {
  return Math.min(1e307, Math.max(-1e307, value));
}

function clampSize(value: number | undefined, fallback: number): number {
  const size = Math.round(finiteOr(value, fallback));
  return Math.min(4096, Math.max(64, size));
}

function finiteOr<T>(value: unknown, fallback: T): number | T {
  return typeof value === "number" && Number.isFinite(value) ? value : fallback;
}

/** Step axis: nice ticks spaced so their labels never touch. */
function xAxis(lo: number, hi: number, plotWidth: number, scale: number): Axis {
  for (let maxTicks = Math.max(2, Math.floor(plotWidth / (80 * scale))); ; maxTicks--) {
    const step = Math.max(niceStep(hi - lo, maxTicks), Number.isInteger(lo) && hi - lo >= 1 ? 1 : 0);
    const ticks = ticksWithin(lo, hi, step);
    const label = linearTickFormat(ticks, step);
    const widest = Math.max(...ticks.map((t) => measureText(label(t), scale)), 0);
    if (maxTicks <= 2 || (widest + 16 * scale) * ticks.length <= plotWidth) return { lo, hi, ticks, label, log: false };
  }
}

/**
 * Loss axis over the data, ignoring the most extreme 0.5% at either end when there are
 * many points (spikes are clipped rather than squashing the curve), always including the
 * whole smoothed line.
 */
function yAxis(series: readonly PlannedSeries[], log: boolean, maxTicks: number): Axis {
  const total = series.reduce((n, s) => n + s.data.values.length, 0);
  let lo = Infinity;
  let hi = -Infinity;
  if (total > 0) {
    // Quantiles from at most ~20k evenly spread values: as good, and no 300k-value sort.
    const every = Math.ceil(total / 20_000);
    const all = new Float64Array(Math.ceil(total / every) + series.length);
    let at = 0;
    for (const s of series) {
      for (let i = 0; i < s.data.values.length; i += every) all[at++] = s.data.values[i]!;
      for (const v of s.smoothed) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    all.subarray(0, at).sort();
    const trim = total >= 200 ? 0.005 : 0;
    lo = Math.min(lo, quantile(all.subarray(0, at), trim));
    hi = Math.max(hi, quantile(all.subarray(0, at), 1 - trim));
  }
  if (log) return logAxis(lo, hi, maxTicks);
  if (!Number.isFinite(lo)) {
    const step = niceStep(1, maxTicks);
    return { lo: 0, hi: 1, ticks: ticksWithin(0, 1, step), label: linearTickFormat([0, 1], step), log: false };
  }
  lo = limit(lo);
  hi = limit(hi);
  const dataMin = lo;
  if (hi - lo <= Math.abs(hi) * 1e-9) {
    const spread = Math.abs(lo) * 0.1 || 1;
    lo -= spread;
    hi += spread;
  }
  // Each end stops at the next tick out when that leaves a margin of 4-12% of the data's
  // range, else at a 4% margin exactly: no cramped line, no near-empty band.
  const margin = (hi - lo) * 0.04;
  const step = niceStep(hi - lo + 2 * margin, maxTicks);
  const snappedLo = Math.floor(lo / step + 1e-9) * step;
  const snappedHi = Math.ceil(hi / step - 1e-9) * step;
  const snaps = (gap: number) => gap >= margin && gap <= 3 * margin;
  lo = snaps(lo - snappedLo) ? snappedLo : lo - margin;
  hi = snaps(snappedHi - hi) ? snappedHi : hi + margin;
  if (dataMin >= 0 && lo < 0) lo = 0;
  // At least three labelled values: a finer step when the ends did not land on ticks.
  let tickStep = step;
  for (let more = maxTicks + 1; ticksWithin(lo, hi, tickStep).length < 3 && more <= 4 * maxTicks + 4; more++) {
    tickStep = Math.min(tickStep, niceStep(hi - lo, more));
  }
  const ticks = ticksWithin(lo, hi, tickStep);
  return { lo, hi, ticks, label: linearTickFormat(ticks, tickStep), log: false };
}

/** A log axis's lo and hi are log10 of the values; ticks and labels are values. */
function logAxis(lo: number, hi: number, maxTicks: number): Axis {
  let llo = Number.isFinite(lo) ? Math.log10(lo) : -1;
  let lhi = Number.isFinite(hi) ? Math.log10(hi) : 0;
  const margin = lhi - llo > 1e-9 ? (lhi - llo) * 0.04 : 0.1;
  llo = Math.max(-323, llo - margin);
  lhi = Math.min(308, lhi + margin);
  return { lo: llo, hi: lhi, ticks: logTicks(10 ** llo, 10 ** lhi, maxTicks), label: formatCompact, log: true };
}
