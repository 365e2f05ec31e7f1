import { z } from "zod";

/**
 * Loss history: what is kept (bounded, whatever the run's length) and what is shown
 * (downsampled to the number of points a caller asks for, with a summary per loss term).
 */

export interface HistoryPoint {
  step: number;
  /** When the Worker saw it (ms). */
  at: number;
  losses: Record<string, number>;
}

export const termSummarySchema = z.object({
  min: z.number(),
  min_step: z.number(),
  last: z.number(),
  /** "falling", "flat" or "rising": the fitted slope over the newest third of the history. */
  trend: z.enum(["falling", "flat", "rising"]),
  /** Relative change per 1000 steps over that window (e.g. -0.05 = 5% lower every 1000 steps). */
  slope_per_1000_steps: z.number(),
});
export type TermSummary = z.infer<typeof termSummarySchema>;

/** A downsampled point: the mean of its bucket, at the bucket's last step. */
export const lossPointSchema = z.object({ step: z.number(), losses: z.record(z.string(), z.number()) });
type LossPoint = z.infer<typeof lossPointSchema>;

export const metricsSeriesSchema = z.object({
  terms: z.array(z.string()),
  points: z.array(lossPointSchema),
  summary: z.record(z.string(), termSummarySchema),
});
export type MetricsSeries = z.infer<typeof metricsSeriesSchema>;

export function buildSeries(history: readonly HistoryPoint[], maxPoints: number): MetricsSeries {
  const terms = [...new Set(history.flatMap((point) => Object.keys(point.losses)))].sort();
  const summary: Record<string, TermSummary> = {};
  for (const term of terms) {
    const series = history.flatMap((point) => {
      const value = point.losses[term];
      return value === undefined ? [] : [{ step: point.step, value }];
    });
    const summarised = summarise(series);
    if (summarised) summary[term] = summarised;
  }
  return { terms, points: downsample(history, maxPoints), summary };
}

/** Evenly sized buckets by position; each term averaged over the points that have it. */
export function downsample(history: readonly HistoryPoint[], maxPoints: number): LossPoint[] {
  if (history.length <= maxPoints) return history.map(({ step, losses }) => ({ step, losses }));
  const points: LossPoint[] = [];
  for (let bucket = 0; bucket < maxPoints; bucket++) {
    const from = Math.floor((bucket * history.length) / maxPoints);
    const to = Math.floor(((bucket + 1) * history.length) / maxPoints);
    const slice = history.slice(from, Math.max(to, from + 1));
    const sums: Record<string, { total: number; count: number }> = {};
    for (const point of slice) {
      for (const [term, value] of Object.entries(point.losses)) {
        const entry = (sums[term] ??= { total: 0, count: 0 });
        entry.total += value;
        entry.count += 1;
      }
    }
    const losses: Record<string, number> = {};
    for (const [term, { total, count }] of Object.entries(sums)) losses[term] = total / count;
    points.push({ step: slice[slice.length - 1]?.step ?? 0, losses });
  }
  return points;
}

function summarise(series: readonly { step: number; value: number }[]): TermSummary | undefined {
  const last = series[series.length - 1];
  if (!last) return undefined;
  let min = last;
  for (const point of series) if (point.value < min.value) min = point;
  const window = series.slice(Math.floor((series.length * 2) / 3));
  const slope = fittedSlope(window);
  const mean = window.reduce((sum, point) => sum + point.value, 0) / window.length;
  const relative = mean !== 0 ? (slope * 1000) / Math.abs(mean) : 0;
  // Under 1% per 1000 steps is noise for a LoRA loss curve.
  const trend = relative < -0.01 ? "falling" : relative > 0.01 ? "rising" : "flat";
  return { min: min.value, min_step: min.step, last: last.value, trend, slope_per_1000_steps: round4(relative) };
}

/** Least-squares slope of value over step. */
function fittedSlope(points: readonly { step: number; value: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const meanStep = points.reduce((sum, p) => sum + p.step, 0) / n;
  const meanValue = points.reduce((sum, p) => sum + p.value, 0) / n;
  let numerator = 0;
  let denominator = 0;
  for (const p of points) {
    numerator += (p.step - meanStep) * (p.value - meanValue);
    denominator += (p.step - meanStep) ** 2;
  }
  return denominator === 0 ? 0 : numerator / denominator;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
