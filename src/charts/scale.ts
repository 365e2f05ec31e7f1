/**
 * Axis arithmetic for charts: "nice" tick steps (1, 2 or 5 × 10^n), ticks for linear and
 * log axes, and compact number labels (0.012, 1.5e-3, 12.5k).
 */

/** The nice step (1, 2 or 5 × 10^n) giving at most about `maxTicks` ticks over `span`. */
export function niceStep(span: number, maxTicks: number): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const raw = span / Math.max(1, maxTicks);
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
}

/** Multiples of `step` within [lo, hi] (with a little tolerance for rounding). */
export function ticksWithin(lo: number, hi: number, step: number): number[] {
  const ticks: number[] = [];
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  for (let k = first; k <= last && ticks.length < 1000; k++) ticks.push(cleanFloat(k * step));
  return ticks;
}

/** 0.30000000000000004 → 0.3, so labels and equality checks behave. */
function cleanFloat(value: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(12));
}

/**
 * Ticks for a log axis over positive [lo, hi]: 1, 2, 5 × 10^n when they give at least two and
 * at most `maxTicks`, else powers of ten (every k-th when there are many decades), and for a
 * range narrower than a factor of about 2.5, linear nice ticks.
 */
export function logTicks(lo: number, hi: number, maxTicks: number): number[] {
  // Doubles span 10^-324 to 10^308; clamping also keeps an infinite `hi` from looping forever.
  const fromDecade = Math.max(-323, Math.floor(Math.log10(lo)));
  const toDecade = Math.min(308, Math.ceil(Math.log10(hi)));
  const within = (v: number) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9);
  const candidates: number[] = [];
  for (let d = fromDecade; d <= toDecade; d++) for (const m of [1, 2, 5]) candidates.push(cleanFloat(m * 10 ** d));
  const nice = candidates.filter(within);
  if (nice.length >= 2 && nice.length <= maxTicks) return nice;
  if (nice.length < 2) return ticksWithin(lo, hi, niceStep(hi - lo, Math.min(maxTicks, 4)));
  const decades = toDecade - fromDecade;
  const every = Math.max(1, Math.ceil(decades / maxTicks));
  const powers: number[] = [];
  for (let d = fromDecade; d <= toDecade; d++) if (d % every === 0 && within(10 ** d)) powers.push(cleanFloat(10 ** d));
  return powers.length >= 2 ? powers : nice.filter((_, i) => i % Math.ceil(nice.length / maxTicks) === 0);
}

/**
 * A labeller for the ticks of a linear axis spaced `step` apart: all labels share one
 * format, fixed decimals while the step needs at most 3 of them, else x.ye-n; 12.5k and 3M
 * for large ones, 2e12 past a billion.
 */
export function linearTickFormat(ticks: readonly number[], step: number): (value: number) => string {
  const maxAbs = ticks.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  const stepPower = Math.floor(Math.log10(step) + 1e-9);
  if (maxAbs >= 1e4 && maxAbs < 1e9) {
    const [unit, suffix] = maxAbs >= 1e6 ? [1e6, "M"] : [1e3, "k"];
    const decimals = Math.max(0, -Math.floor(Math.log10(step / unit) + 1e-9));
    return (v) => (v === 0 ? "0" : trimZero(`${(v / unit).toFixed(decimals)}${suffix}`));
  }
  if (stepPower >= -3 && maxAbs < 1e9) {
    const decimals = Math.max(0, -stepPower);
    return (v) => (Math.abs(v) < step * 1e-6 ? 0 : v).toFixed(decimals);
  }
  return (v) => {
    if (Math.abs(v) < step * 1e-6) return "0";
    const power = Math.floor(Math.log10(Math.abs(v)) + 1e-9);
    return exponential(v, Math.max(0, power - stepPower));
  };
}

/** "-0" never shows; "12.0k" stays as is (its siblings are 12.5k). */
function trimZero(label: string): string {
  return /^-0(\.0*)?[kM]?$/.test(label) ? label.slice(1) : label;
}

/** x.ye-n with `digits` mantissa decimals, no "+" and no leading zeros in the exponent. */
function exponential(value: number, digits: number): string {
  const [mantissa, exponent] = value.toExponential(Math.min(20, digits)).split("e");
  return `${mantissa}e${Number(exponent)}`;
}

/**
 * A compact label for one value with up to 3 significant digits: 0.412, 12.3, 0.0012,
 * 4.1e-5, 1234, 12.5k, 3.2M, 1.8e12.
 */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  // The unit is chosen on the rounded value, so 999,999 is 1M, not 1000k.
  const abs = Math.abs(Number(value.toPrecision(3)));
  if (abs === 0) return "0";
  if (abs >= 1e9 || abs < 1e-3) return exponential(value, 2).replace(/\.?0+e/, "e");
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  if (abs >= 1000) return String(Math.round(value));
  return String(Number(value.toPrecision(3)));
}
