import { DurableObject } from "cloudflare:workers";

/** Five wrong passwords from one client address within ten minutes lock it out until the window passes. */
export const MAX_FAILURES = 5;
export const WINDOW_MS = 10 * 60 * 1000;

export interface AttemptVerdict {
  blocked: boolean;
  /** Seconds until the oldest failure in the window expires (when blocked). */
  retryAfterSeconds: number;
  failures: number;
}

/**
 * Failed owner-password attempts for one client address (one object per address).
 * A Durable Object rather than KV: KV is eventually consistent, so a fast attacker could
 * outrun the count; a Durable Object serialises every attempt.
 */
export class LoginAttempts extends DurableObject {
  async check(now: number = Date.now()): Promise<AttemptVerdict> {
    const failures = await this.recentFailures(now);
    return verdict(failures, now);
  }

  async recordFailure(now: number = Date.now()): Promise<AttemptVerdict> {
    const failures = [...(await this.recentFailures(now)), now];
    await this.ctx.storage.put("failures", failures);
    // Nothing to remember once the window has passed.
    await this.ctx.storage.setAlarm(now + WINDOW_MS);
    return verdict(failures, now);
  }

  async clear(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    const failures = await this.recentFailures(Date.now());
    if (failures.length === 0) await this.ctx.storage.deleteAll();
  }

  private async recentFailures(now: number): Promise<number[]> {
    const stored = (await this.ctx.storage.get<number[]>("failures")) ?? [];
    return stored.filter((at) => now - at < WINDOW_MS);
  }
}

function verdict(failures: number[], now: number): AttemptVerdict {
  const blocked = failures.length >= MAX_FAILURES;
  const oldest = failures[failures.length - MAX_FAILURES] ?? now;
  return {
    blocked,
    failures: failures.length,
    retryAfterSeconds: blocked ? Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) : 0,
  };
}
