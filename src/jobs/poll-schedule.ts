import { isTerminal, type JobRecord } from "./state";

/** When a job is polled next: fast right after its start, steady while it runs, backing off while unreachable. */

export interface PollSettings {
  /** Steady interval while the job runs. */
  intervalMs: number;
  /** Interval right after the start, when a config error or crash shows up quickly. */
  fastIntervalMs: number;
  /** How long after the start the fast interval applies. */
  fastWindowMs: number;
  /** Ceiling of the back-off while the toolkit is unreachable. */
  maxBackoffMs: number;
}

/** Milliseconds until the next poll, or undefined when the job needs no more polling. */
export function nextPollDelay(record: JobRecord, now: number, settings: PollSettings): number | undefined {
  if (isTerminal(record.status)) return undefined;
  const base = now - record.createdAt < settings.fastWindowMs ? settings.fastIntervalMs : settings.intervalMs;
  if (record.failedPolls === 0) return base;
  // Doubling from the steady interval: a tunnel that is down for hours costs a few polls an hour.
  const backoff = settings.intervalMs * 2 ** Math.min(record.failedPolls, 16);
  return Math.min(Math.max(base, backoff), settings.maxBackoffMs);
}
