import { R2_MIN_PART_BYTES } from "../r2/multipart";
import type { PartRow } from "./store";

/** R2 numbers parts 1 to 10000. */
export const PART_MAX_NUMBER = 10_000;

/**
 * Why these parts cannot be joined yet, or undefined when they can. Checked before asking R2,
 * so the client hears which part to resend instead of R2's generic refusal.
 */
export function checkParts(name: string, parts: readonly PartRow[]): string | undefined {
  if (parts.length === 0) return `no parts of ${name} have arrived: send them with PUT .../files/${name}/parts/1, 2, ...`;
  const sorted = [...parts].sort((a, b) => a.n - b.n);
  const missing: number[] = [];
  let expected = 1;
  for (const part of sorted) {
    while (expected < part.n && missing.length < 10) missing.push(expected++);
    expected = part.n + 1;
  }
  if (missing.length > 0) return `${name} is missing part${missing.length === 1 ? "" : "s"} ${missing.join(", ")}: send ${missing.length === 1 ? "it" : "them"}, then complete again`;
  const first = sorted[0];
  for (const part of sorted.slice(0, -1)) {
    if (part.size < R2_MIN_PART_BYTES) {
      return `part ${part.n} of ${name} is ${part.size} bytes; every part but the last must be at least ${R2_MIN_PART_BYTES} bytes (5 MiB): resend the file with bigger parts`;
    }
    if (first && part.size !== first.size) {
      return `part ${part.n} of ${name} is ${part.size} bytes but part 1 is ${first.size}; every part but the last must be the same size: resend part ${part.n}`;
    }
  }
  const last = sorted[sorted.length - 1];
  if (first && last && sorted.length > 1 && last.size > first.size) {
    return `the last part of ${name} (${last.n}) is bigger than the others: resend it split at ${first.size} bytes`;
  }
  return undefined;
}
