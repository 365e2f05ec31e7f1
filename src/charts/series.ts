/**
 * Series data for charts: cleaning (finite values only, sorted by step, duplicates merged),
 * time-weighted smoothing, and per-pixel-column reduction so 100k points draw as fast as 2k.
 */

export interface ChartPoint {
  step: number;
  value: number;
}

/** A series ready to draw: parallel arrays, steps strictly increasing. */
export interface CleanSeries {
  steps: Float64Array;
  values: Float64Array;
}

/**
 * Keeps the points whose step and value are finite (and, for a log axis, whose value is
 * positive), sorted by step; points sharing a step become one, their mean.
 */
export function cleanSeries(points: readonly ChartPoint[], positiveOnly = false): CleanSeries {
  const kept: ChartPoint[] = [];
  let sorted = true;
  for (const point of points) {
    const step = point?.step;
    const value = point?.value;
    if (typeof step !== "number" || typeof value !== "number" || !Number.isFinite(step) || !Number.isFinite(value))
      continue;
    if (positiveOnly && !(value > 0)) continue;
    if (kept.length > 0 && step < kept[kept.length - 1]!.step) sorted = false;
    kept.push(point);
  }
  if (!sorted) kept.sort((a, b) => a.step - b.step);
  const steps = new Float64Array(kept.length);
  const values = new Float64Array(kept.length);
  let n = 0;
  let run = 0;
  for (const { step, value } of kept) {
    if (n > 0 && steps[n - 1] === step) {
      run++;
      values[n - 1] = values[n - 1]! + (value - values[n - 1]!) / run;
      continue;
    }
    steps[n] = step;
    values[n] = value;
    run = 1;
    n++;
  }
  return { steps: steps.subarray(0, n), values: values.subarray(0, n) };
}

/**
 * Time-weighted, debiased exponential moving average: each smoothed value is the mean of
 * the values so far, a value `d` steps back weighing exp(-d / timeConstant). For evenly
 * spaced steps this is exactly TensorBoard's smoothing (EMA with weight
 * w = exp(-1 / timeConstant), debiased by 1 - w^n), but weighting by step distance rather
 * than by sample count keeps a history thinned to one point per 10 steps looking like the
 * full one. Debiasing makes the line start at the mean of the first points, not at the
 * first (noisy) one. A time constant of 0 returns the values unchanged.
 */
export function smoothSeries(series: CleanSeries, timeConstant: number): Float64Array {
  const { steps, values } = series;
  if (!(timeConstant > 0)) return values.slice();
  const out = new Float64Array(values.length);
  let weighted = 0;
  let weights = 0;
  for (let i = 0; i < values.length; i++) {
    const decay = i > 0 ? Math.exp(-(steps[i]! - steps[i - 1]!) / timeConstant) : 0;
    weighted = weighted * decay + values[i]!;
    weights = weights * decay + 1;
    out[i] = weighted / weights;
  }
  return out;
}

/**
 * Reduces a polyline with x increasing to at most four points per pixel column (its first,
 * lowest, highest and last, in their order): drawn one pixel wide, the result covers the
 * same pixels as the whole line (the "M4" reduction). Shorter input comes back as is.
 */
export function reducePerColumn(xs: Float64Array, ys: Float64Array): { xs: Float64Array; ys: Float64Array } {
  const n = xs.length;
  if (n <= 2 || xs[n - 1]! - xs[0]! >= n / 2) return { xs, ys };
  const outX = new Float64Array(Math.min(n, 4 * (Math.ceil(xs[n - 1]! - xs[0]!) + 2)));
  const outY = new Float64Array(outX.length);
  let m = 0;
  let start = 0;
  while (start < n) {
    const column = Math.floor(xs[start]!);
    let end = start + 1;
    let low = start;
    let high = start;
    while (end < n && Math.floor(xs[end]!) === column) {
      if (ys[end]! < ys[low]!) low = end;
      if (ys[end]! > ys[high]!) high = end;
      end++;
    }
    const picks = [start, Math.min(low, high), Math.max(low, high), end - 1];
    for (let k = 0; k < 4; k++) {
      const i = picks[k]!;
      if (k > 0 && i === picks[k - 1]) continue;
      if (m === outX.length) break;
      outX[m] = xs[i]!;
      outY[m] = ys[i]!;
      m++;
    }
    start = end;
  }
  return { xs: outX.subarray(0, m), ys: outY.subarray(0, m) };
}

/** The value below which a fraction `q` of the sorted values lie (linear interpolation). */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const at = Math.min(sorted.length - 1, Math.max(0, q * (sorted.length - 1)));
  const below = Math.floor(at);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below]! + (sorted[above]! - sorted[below]!) * (at - below);
}
