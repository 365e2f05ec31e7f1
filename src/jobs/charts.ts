import { renderLossChart, type LossSeries } from "../charts/loss-chart";
import { renderSparkline } from "../charts/sparkline";
import type { ThemeName } from "../charts/theme";
import type { HistoryPoint } from "./metrics";
import type { JobView } from "./view";

/**
 * A job's stored loss history as pictures: the full chart get_training_metrics shows and the
 * sparkline get_training_status adds on request. Both come from the Durable Object's history,
 * so they work for every upstream and while the toolkit is down.
 */

/** One series per loss term, in the order the terms were first seen. */
export function lossSeries(history: readonly HistoryPoint[]): LossSeries[] {
  const byTerm = new Map<string, { step: number; value: number }[]>();
  for (const point of history) {
    for (const [term, value] of Object.entries(point.losses)) {
      let points = byTerm.get(term);
      if (!points) byTerm.set(term, (points = []));
      points.push({ step: point.step, value });
    }
  }
  return [...byTerm].map(([name, points]) => ({ name, points }));
}

/** The loss chart (about 800×400), or undefined when no loss value has been recorded yet. */
export function lossChartPng(job: JobView, history: readonly HistoryPoint[], theme: ThemeName): Uint8Array | undefined {
  const series = lossSeries(history);
  if (series.length === 0) return undefined;
  return renderLossChart({
    series,
    currentStep: job.current_step,
    ...(job.total_steps === null ? {} : { totalSteps: job.total_steps }),
    title: `${job.config} - loss`,
    theme,
  });
}

/** A small strip of the main loss term ("loss" when there is one), or undefined without values. */
export function lossSparklinePng(history: readonly HistoryPoint[], theme: ThemeName): Uint8Array | undefined {
  const series = lossSeries(history);
  const main = series.find((s) => s.name === "loss") ?? series[0];
  return main ? renderSparkline({ points: main.points, theme }) : undefined;
}
