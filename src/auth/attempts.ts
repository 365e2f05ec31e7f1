import { DurableObject } from "cloudflare:workers";

/** Five wrong passwords from one client address within ten minutes lock it out until the window passes. */
export const MAX_FAILURES = 5;
export const WINDOW_MS = 10 * 60 * 1000;

export interface AttemptVerdict {
  /** False when the address already used up its attempts: refuse without checking anything. */
  allowed: boolean;
  /** Failed attempts in the window, counting this one as failed until it proves right. */
  failures: number;
  /** Seconds until the oldest counted failure leaves the window (when no attempt is left). */
  retryAfterSeconds: number;
}

/**
 * Failed owner-password attempts for one client address (one object per address).
 * A Durable Object rather than KV: KV is eventually consistent, so a fast attacker could
 * outrun the count; a Durable Object serialises every attempt.
 *
 * An attempt is counted as failed before the password is checked (`reserve`) and forgiven
 * when it proves right (`clear`). Checking first and counting after would let many
 * parallel guesses all pass the check before the first failure is written. The count is
 * read and written with the synchronous storage API, so no other call can run in between.
 */
export class LoginAttempts extends DurableObject {
  async reserve(now: number = Date.now()): Promise<AttemptVerdict> {
    const failures = this.recentFailures(now);
    if (failures.length >= MAX_FAILURES) return verdict(false, failures, now);
    failures.push(now);
    this.ctx.storage.kv.put("failures", failures);
    // Nothing to remember once the window has passed.
    await this.ctx.storage.setAlarm(now + WINDOW_MS);
    return verdict(true, failures, now);
  }

  async clear(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    if (this.recentFailures(Date.now()).length === 0) await this.ctx.storage.deleteAll();
  }

  private recentFailures(now: number): number[] {
    const stored = this.ctx.storage.kv.get<number[]>("failures") ?? [];
    return stored.filter((at) => now - at < WINDOW_MS);
  }
}

function verdict(allowed: boolean, failures: number[], now: number): AttemptVerdict {
  const oldest = failures[failures.length - MAX_FAILURES] ?? now;
  const exhausted = failures.length >= MAX_FAILURES;
  return {
    allowed,
    failures: failures.length,
    retryAfterSeconds: exhausted ? Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) : 0,
  };
}
