// Restart delays for a child that keeps exiting.

export interface BackoffTimings {
  /** Delay before the first restart. */
  readonly initialMs: number;
  /** The delay doubles after every quick exit, up to this. */
  readonly maxMs: number;
  /** A child that stayed up at least this long was healthy: the delay starts over from initialMs. */
  readonly resetAfterMs: number;
}

/**
 * 1 s doubling to 60 s: quick enough that a dropped connection heals by itself, slow enough that a
 * revoked token or a broken binary does not hammer Cloudflare (or fill the log) once a second.
 */
export const DEFAULT_BACKOFF: BackoffTimings = { initialMs: 1_000, maxMs: 60_000, resetAfterMs: 60_000 };

export class Backoff {
  readonly #timings: BackoffTimings;
  #next: number;

  constructor(timings: BackoffTimings = DEFAULT_BACKOFF) {
    if (!(timings.initialMs > 0 && timings.maxMs >= timings.initialMs && timings.resetAfterMs >= 0)) {
      throw new RangeError(
        `invalid back-off timings ${JSON.stringify(timings)}: need 0 < initialMs <= maxMs and resetAfterMs >= 0`,
      );
    }
    this.#timings = timings;
    this.#next = timings.initialMs;
  }

  /** The delay before the next start, given how long the child that just exited had been up. */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.#timings.resetAfterMs) this.#next = this.#timings.initialMs;
    const delay = this.#next;
    this.#next = Math.min(this.#next * 2, this.#timings.maxMs);
    return delay;
  }
}
