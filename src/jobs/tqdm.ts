/**
 * Reading ai-toolkit's training log. Its progress output is tqdm, rewritten in place with `\r`:
 *   my_lora:  45%|####5     | 450/1000 [05:12<06:21,  1.44it/s, lr: 1.0e-04 loss: 3.912e-01]
 * The toolkit's own `progress` never sees these lines (they lack the word "step"), so the log is
 * the only truth about step, total, timing, learning rate and loss terms.
 */

export interface TqdmUpdate {
  /** tqdm's description (ai-toolkit puts the job name there); empty when there is none. */
  description: string;
  step: number;
  total: number;
  percent: number;
  elapsedSeconds: number;
  /** Undefined while tqdm cannot tell yet ("?"). */
  remainingSeconds?: number;
  /** Iterations (steps) per second; undefined while tqdm shows "?it/s". */
  rate?: number;
  lr?: number;
  /** Every postfix term whose name contains "loss" (loss, diff_loss, prior_loss...). */
  losses: Record<string, number>;
}

// l_bar + bar + `| n/total [elapsed<remaining, rate, postfix]`. The bar is anything between the
// two pipes (ASCII or Unicode blocks); the postfix is everything after the rate.
const PROGRESS =
  /(\d{1,3})%\|[^|]*\|\s*(\d+)\/(\d+)\s*\[\s*([^<\]]*?)\s*<\s*([^,\]]*?)\s*(?:,\s*([^,\]]*?)\s*)?(?:,\s*([^\]]*?))?\s*\]/;

// Postfix terms as ai-toolkit writes them (`lr: 1.0e-04 loss: 3.912e-01`) and as tqdm's
// set_postfix writes them (`loss=0.391, lr=1e-04`).
const TERM = /([A-Za-z_][\w./-]*)\s*[:=]\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?nan|[-+]?inf)/gi;

/** Splits log lines into tqdm updates and ordinary lines: on `\r` and `\n`, blanks dropped. */
export function splitLog(lines: readonly string[]): string[] {
  return lines
    .join("\n")
    .split(/\r\n|\r|\n/)
    .map((segment) => segment.trimEnd())
    .filter((segment) => segment.trim() !== "");
}

/** One log segment as a tqdm update, or undefined when it is not a progress line. */
export function parseTqdmLine(segment: string): TqdmUpdate | undefined {
  const match = PROGRESS.exec(segment);
  if (!match) return undefined;
  const [, percent, step, total, elapsed, remaining, rate, postfix] = match;
  const elapsedSeconds = parseInterval(elapsed ?? "");
  if (elapsedSeconds === undefined) return undefined;
  const update: TqdmUpdate = {
    description: segment.slice(0, match.index).trim().replace(/:$/, "").trim(),
    step: Number(step),
    total: Number(total),
    percent: Number(percent),
    elapsedSeconds,
    losses: {},
  };
  const remainingSeconds = parseInterval(remaining ?? "");
  if (remainingSeconds !== undefined) update.remainingSeconds = remainingSeconds;
  const parsedRate = parseRate(rate ?? "");
  if (parsedRate !== undefined) update.rate = parsedRate;
  for (const term of (postfix ?? "").matchAll(TERM)) {
    const name = term[1] ?? "";
    const value = Number(term[2]);
    if (name.toLowerCase() === "lr") update.lr = value;
    else if (/loss/i.test(name) && !Number.isNaN(value)) update.losses[name] = value;
  }
  return update;
}

/** Which bar is the training run's: the log also has bars for loading shards, caching latents... */
export type BarFilter = (update: TqdmUpdate) => boolean;

const ANY_BAR: BarFilter = () => true;

/**
 * What identifies a run's training bar. ai-toolkit labels it with the job's name (the `name`
 * in its config, which create_training_config sets to the config's name); other bars have
 * other labels ("Loading checkpoint shards", "Caching latents to disk"). Without a known name,
 * a bar whose total is the planned step count is taken; without either, only a bar that shows
 * a learning rate or a loss term, which no bar but the training one does.
 */
export function trainingBar(names: readonly (string | undefined)[], plannedSteps: number | undefined): BarFilter {
  const known = names
    .filter((name): name is string => name !== undefined && name.trim() !== "")
    .map((name) => name.trim());
  if (known.length > 0) return (update) => known.includes(update.description);
  if (plannedSteps !== undefined) return (update) => update.total === plannedSteps;
  return (update) => update.lr !== undefined || Object.keys(update.losses).length > 0;
}

/** Every tqdm update in the segments (of the bars the filter accepts), oldest first. */
export function tqdmUpdates(segments: readonly string[], accept: BarFilter = ANY_BAR): TqdmUpdate[] {
  const updates: TqdmUpdate[] = [];
  for (const segment of segments) {
    const update = parseTqdmLine(segment);
    if (update && accept(update)) updates.push(update);
  }
  return updates;
}

/** The newest tqdm update in the segments (of the bars the filter accepts). */
export function latestUpdate(segments: readonly string[], accept: BarFilter = ANY_BAR): TqdmUpdate | undefined {
  for (let i = segments.length - 1; i >= 0; i--) {
    const update = parseTqdmLine(segments[i] ?? "");
    if (update && accept(update)) return update;
  }
  return undefined;
}

const TRACEBACK_START = "Traceback (most recent call last):";
const MAX_EXCERPT_LINES = 40;

/**
 * The newest Python traceback in the segments, as an excerpt a person can read: its first
 * lines and the exception at its end (what usually says what went wrong, e.g. CUDA OOM).
 */
export function findTraceback(segments: readonly string[]): string | undefined {
  let start = -1;
  for (let i = segments.length - 1; i >= 0; i--) {
    if ((segments[i] ?? "").trimStart().startsWith(TRACEBACK_START)) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const lines = segments.slice(start).filter((line) => parseTqdmLine(line) === undefined);
  if (lines.length <= MAX_EXCERPT_LINES) return lines.join("\n");
  const head = lines.slice(0, 5);
  const tail = lines.slice(lines.length - (MAX_EXCERPT_LINES - 6));
  return [...head, `  ... (${lines.length - head.length - tail.length} lines omitted)`, ...tail].join("\n");
}

/** The exception line of a traceback excerpt ("RuntimeError: CUDA out of memory..."). */
export function exceptionLine(traceback: string): string {
  const lines = traceback.split("\n").filter((line) => line.trim() !== "");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? "";
    if (/^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b/.test(line.trim())) return line.trim();
  }
  return (lines[lines.length - 1] ?? "").trim();
}

/** tqdm's intervals: `ss`, `mm:ss`, `h:mm:ss`, or `Nd, h:mm:ss`; "?" is unknown. */
export function parseInterval(text: string): number | undefined {
  const match = /^(?:(\d+)d,\s*)?(\d+(?::\d{1,2}){0,2})$/.exec(text.trim());
  if (!match) return undefined;
  const days = Number(match[1] ?? 0);
  const parts = (match[2] ?? "").split(":").map(Number);
  let seconds = 0;
  for (const part of parts) seconds = seconds * 60 + part;
  return days * 86_400 + seconds;
}

const SCALE: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9 };

/** `1.44it/s` -> 1.44 steps per second; `2.50s/it` -> 0.4; `?it/s` -> undefined. */
export function parseRate(text: string): number | undefined {
  const match = /^([\d.]+)\s*([kMG]?)(it\/s|s\/it)$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]) * (SCALE[match[2] ?? ""] ?? 1);
  if (!Number.isFinite(value) || value <= 0) return undefined;
  return match[3] === "it/s" ? value : 1 / value;
}
