import { CAP_HEIGHT, drawText, measureText } from "./font";
import { planLossChart, type LossChartOptions, type LossChartPlan } from "./loss-layout";
import { encodePng } from "./png";
import { Raster } from "./raster";
import { formatCompact } from "./scale";
import { reducePerColumn } from "./series";

export type { LossChartOptions, LossSeries } from "./loss-layout";

/**
 * A loss-curve chart as a PNG, for training runs: per loss term a faint raw trace and a
 * strong smoothed line (see `smoothing`), step and loss axes with nice ticks, a legend with
 * each term's latest smoothed value, the current step as a vertical line and, with
 * `totalSteps`, the steps still to train shaded. Bad input (no points, NaN, unsorted or
 * duplicate steps) draws what can be drawn; long series are reduced per pixel column, so
 * 100k points per series cost little more than 2k.
 */
export function renderLossChart(options: LossChartOptions): Uint8Array {
  const raster = drawLossChart(planLossChart(options));
  return encodePng(raster.width, raster.height, raster.data);
}

/** The chart as pixels, before encoding (for tests). */
export function drawLossChart(plan: LossChartPlan): Raster {
  const { theme, plot, x, y, scale: s } = plan;
  const raster = new Raster(plan.width, plan.height, theme.background);
  const text = { color: theme.text, scale: s };
  const current =
    plan.currentStep !== undefined && plan.currentStep >= x.lo && plan.currentStep <= x.hi
      ? plan.currentStep
      : undefined;
  const currentX = current === undefined ? undefined : Math.floor(plan.xPixel(current));

  if (currentX !== undefined && plan.totalSteps !== undefined && current! < plan.totalSteps) {
    raster.fillRect(currentX + 1, plot.top, plot.right - currentX - 1, plot.bottom - plot.top, theme.remaining);
  }

  // Grid, axis lines and tick labels.
  for (const tick of y.ticks) {
    const py = Math.floor(plan.yPixel(tick));
    if (py < plot.top || py >= plot.bottom) continue;
    raster.fillRect(plot.left, py, plot.right - plot.left, 1, theme.grid);
    const label = y.label(tick);
    const ty = Math.min(
      Math.max(py - Math.floor((CAP_HEIGHT * s) / 2), plot.top - 4 * s),
      plot.bottom - CAP_HEIGHT * s + 4 * s,
    );
    drawText(raster, plot.left - 6 * s - measureText(label, s), ty, label, text);
  }
  for (const tick of x.ticks) {
    const px = Math.floor(plan.xPixel(tick));
    if (px < plot.left || px >= plot.right) continue;
    raster.fillRect(px, plot.top, 1, plot.bottom - plot.top, theme.grid);
    raster.fillRect(px, plot.bottom, 1, 4 * s, theme.axis);
    const label = x.label(tick);
    drawText(raster, px - Math.floor(measureText(label, s) / 2), plot.bottom + 8 * s, label, text);
  }
  raster.fillRect(plot.left - 1, plot.top, 1, plot.bottom - plot.top + 1, theme.axis);
  raster.fillRect(plot.left - 1, plot.bottom, plot.right - plot.left + 1, 1, theme.axis);

  // Axis titles: "step" centred under the labels, "loss" up the left edge.
  const xTitle = "step";
  drawText(
    raster,
    Math.round((plot.left + plot.right - measureText(xTitle, s)) / 2),
    plan.height - 10 * s - CAP_HEIGHT * s,
    xTitle,
    text,
  );
  const yTitle = y.log ? "loss (log)" : "loss";
  drawText(raster, 10 * s, Math.round((plot.top + plot.bottom + measureText(yTitle, s)) / 2), yTitle, {
    ...text,
    vertical: true,
  });

  if (currentX !== undefined) raster.fillRect(currentX, plot.top, 1, plot.bottom - plot.top, theme.marker);

  // Series: every faint trace first, then every smoothed line over them.
  // Lines may overhang the plot a little, so points on its edges are drawn whole.
  const overhang = 2 * s;
  raster.clip = {
    left: plot.left - overhang,
    top: plot.top - overhang,
    right: plot.right + overhang,
    bottom: plot.bottom + overhang,
  };
  for (const series of plan.series) {
    const { xs, ys } = toPixels(plan, series.data.steps, series.data.values);
    raster.strokePolyline(xs, ys, { color: series.color, width: s, alpha: theme.rawAlpha });
  }
  for (const series of plan.series) {
    const { xs, ys } = toPixels(plan, series.data.steps, series.smoothed);
    if (xs.length === 1) raster.dot(xs[0]!, ys[0]!, 3 * s, series.color);
    else raster.strokePolyline(xs, ys, { color: series.color, width: 2 * s });
  }
  raster.clip = raster.bounds();

  if (current !== undefined && currentX !== undefined) {
    const label =
      plan.totalSteps !== undefined ? `${formatStep(current)}/${formatStep(plan.totalSteps)}` : formatStep(current);
    const w = measureText(label, s);
    const lx = currentX + 4 * s + w < plot.right ? currentX + 4 * s : currentX - 4 * s - w;
    // At the top, unless a line passes there at the current step (loss usually falls).
    const boxHeight = CAP_HEIGHT * s + 4 * s;
    const crowded = plan.series.some((series) => {
      const { steps } = series.data;
      let i = steps.length - 1;
      while (i > 0 && steps[i]! > current) i--;
      return i >= 0 && plan.yPixel(series.smoothed[i]!) < plot.top + 4 * s + boxHeight;
    });
    const ly = crowded ? plot.bottom - 2 * s - boxHeight : plot.top + 2 * s;
    raster.fillRect(lx - 2 * s, ly, w + 4 * s, boxHeight, theme.background, 0.85);
    drawText(raster, lx, ly + 2 * s, label, { color: theme.marker, scale: s });
  }

  drawHeader(raster, plan);
  if (plan.series.every((series) => series.data.steps.length === 0)) {
    const message = "no loss values yet";
    drawText(
      raster,
      Math.round((plot.left + plot.right - measureText(message, s)) / 2),
      Math.round((plot.top + plot.bottom - CAP_HEIGHT * s) / 2),
      message,
      text,
    );
  }
  return raster;
}

/** Title on the left, legend (swatch, name, latest smoothed value) on the right. */
function drawHeader(raster: Raster, plan: LossChartPlan): void {
  const { theme, plot, scale: s } = plan;
  const top = 10 * s;
  let titleEnd = plot.left;
  if (plan.title) titleEnd += 16 * s + drawText(raster, plot.left, top, plan.title, { color: theme.title, scale: s });
  const entries = plan.series.map((series) => {
    const last = series.smoothed[series.smoothed.length - 1];
    return { color: series.color, name: series.name, value: last === undefined ? "" : formatCompact(last) };
  });
  const swatch = 14 * s;
  const entryWidth = (e: { name: string; value: string }, withValue: boolean) =>
    swatch + 5 * s + measureText(e.name, s) + (withValue && e.value ? 5 * s + measureText(e.value, s) : 0);
  const total = (withValue: boolean) => entries.reduce((sum, e) => sum + entryWidth(e, withValue) + 14 * s, -14 * s);
  const withValues = total(true) <= plot.right - titleEnd;
  let x = Math.max(titleEnd, plot.right - total(withValues));
  for (const entry of entries) {
    if (x >= plan.width) break;
    raster.strokePolyline([x + s, x + swatch - s], [top + 3.5 * s, top + 3.5 * s], {
      color: entry.color,
      width: 2 * s,
    });
    let at = x + swatch + 5 * s;
    at += drawText(raster, at, top, entry.name, { color: theme.title, scale: s });
    if (withValues && entry.value) drawText(raster, at + 5 * s, top, entry.value, { color: theme.text, scale: s });
    x += entryWidth(entry, withValues) + 14 * s;
  }
}

function toPixels(
  plan: LossChartPlan,
  steps: Float64Array,
  values: Float64Array,
): { xs: Float64Array; ys: Float64Array } {
  const xs = new Float64Array(steps.length);
  const ys = new Float64Array(steps.length);
  for (let i = 0; i < steps.length; i++) {
    xs[i] = plan.xPixel(steps[i]!);
    ys[i] = plan.yPixel(values[i]!);
  }
  return reducePerColumn(xs, ys);
}

function formatStep(step: number): string {
  return Number.isInteger(step) ? String(step) : formatCompact(step);
}
