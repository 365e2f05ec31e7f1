// Formatting of tqdm progress lines, byte for byte as tqdm prints them to a non-terminal file
// with ai-toolkit's settings, so the Worker's log parser is tested against the real shape:
//   my_lora:  45%|####5     | 450/1000 [05:12<06:21,  1.44it/s, lr: 1.0e-04 loss: 3.912e-01]
// (tqdm's default `{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]`,
// a 10-character ASCII bar, and ai-toolkit's `set_postfix_str` loss string.)

/** tqdm.format_interval: `mm:ss`, or `h:mm:ss` from one hour on. */
export function formatInterval(seconds: number): string {
  const total = Math.trunc(seconds);
  const h = Math.trunc(total / 3600);
  const m = Math.trunc((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number): string => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/** tqdm's ASCII bar (charset " 123456789#"), 10 characters wide. */
export function formatBar(fraction: number, width = 10): string {
  const charset = " 123456789#";
  const symbols = charset.length - 1;
  const clamped = Math.min(Math.max(fraction, 0), 1);
  const units = Math.trunc(clamped * width * symbols);
  const full = Math.trunc(units / symbols);
  const partial = units % symbols;
  let bar = "#".repeat(full);
  if (full < width) bar += charset[partial] + " ".repeat(width - full - 1);
  return bar;
}

/** Python's `{:.Ne}`: the exponent has a sign and at least two digits (`3.912e-01`). */
export function pythonExp(value: number, digits: number): string {
  const [mantissa, exponent = "0"] = value.toExponential(digits).split("e");
  const sign = exponent.startsWith("-") ? "-" : "+";
  return `${mantissa}e${sign}${exponent.replace(/^[+-]/, "").padStart(2, "0")}`;
}

/** Python's `{:3.0f}` uses round-half-to-even; tqdm shows the percentage with it. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (Math.abs(diff - 0.5) > 1e-9) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

export interface TqdmState {
  desc: string;
  n: number;
  total: number;
  elapsedSeconds: number;
  /** Empty before the first loss is known, as in ai-toolkit's first refresh. */
  postfix: string;
}

/** One progress line, without the leading `\r`. */
export function formatTqdmLine(state: TqdmState): string {
  const { desc, n, total, elapsedSeconds, postfix } = state;
  const fraction = total > 0 ? n / total : 0;
  const percent = String(roundHalfEven(fraction * 100)).padStart(3, " ");
  const rate = elapsedSeconds > 0 && n > 0 ? n / elapsedSeconds : 0;
  const remaining = rate > 0 ? formatInterval((total - n) / rate) : "?";
  let rateText: string;
  if (rate === 0) rateText = "?it/s";
  else if (1 / rate > 1) rateText = `${(1 / rate).toFixed(2).padStart(5, " ")}s/it`;
  else rateText = `${rate.toFixed(2).padStart(5, " ")}it/s`;
  const tail = postfix === "" ? "" : `, ${postfix}`;
  return (
    `${desc}: ${percent}%|${formatBar(fraction)}| ${n}/${total} ` +
    `[${formatInterval(elapsedSeconds)}<${remaining}, ${rateText}${tail}]`
  );
}

/**
 * Writes tqdm updates the way tqdm does: each refresh is `\r` + the line, padded with spaces
 * when it is shorter than the previous one so no stale characters remain on a terminal.
 */
export class TqdmWriter {
  private lastLength = 0;
  private readonly write: (text: string) => void;

  constructor(write: (text: string) => void) {
    this.write = write;
  }

  refresh(line: string): void {
    const padding = " ".repeat(Math.max(this.lastLength - line.length, 0));
    this.write(`\r${line}${padding}`);
    this.lastLength = line.length;
  }

  /** tqdm.close() with leave=True: the last state stays, followed by a newline. */
  close(): void {
    this.write("\n");
    this.lastLength = 0;
  }
}
