import { DurableObject } from "cloudflare:workers";

/** Attempts are counted over a sliding ten-minute window. */
export const WINDOW_MS = 10 * 60 * 1000;

/** What one client address may do within the window before it has to wait. */
export interface AttemptPolicy {
  /** Names the counter, so two policies never share one (`<name>:<address>`). */
  readonly name: string;
  /** Attempts allowed in the window. */
  readonly max: number;
}

/** Five wrong owner passwords from one client address lock it out until the window passes. */
export const SIGN_IN: AttemptPolicy = { name: "sign-in", max: 5 };
/** Dynamic client registrations (POST /register) from one client address. */
export const REGISTRATION: AttemptPolicy = { name: "register", max: 10 };

/** Kept for the sign-in page's wording. */
export const MAX_FAILURES = SIGN_IN.max;

export interface AttemptVerdict {
  /** False when the address already used up its attempts: refuse without checking anything. */
  allowed: boolean;
  /** Attempts counted in the window, this one included when it was allowed. */
  count: number;
  /** Seconds until the oldest counted attempt leaves the window (when no attempt is left). */
  retryAfterSeconds: number;
}

/**
 * Attempts of one kind from one client address (one object per policy and address): wrong
 * owner passwords, client registrations. A Durable Object rather than KV: KV is eventually
 * consistent, so a fast attacker could outrun the count; a Durable Object serialises every
 * attempt.
 *
 * An attempt is counted before the work it guards (`reserve`); a sign-in that proves right
 * is forgiven (`clear`). Checking first and counting after would let many parallel requests
 * all pass the check before the first one is written. The count is read and written with the
 * synchronous storage API, so no other call can run in between.
 */
export class AttemptLimiter extends DurableObject {
  async reserve(max: number, now: number = Date.now()): Promise<AttemptVerdict> {
    const attempts = this.recentAttempts(now);
    if (attempts.length >= max) return verdict(false, attempts, max, now);
    attempts.push(now);
    this.ctx.storage.kv.put("attempts", attempts);
    // Nothing to remember once the window has passed.
    await this.ctx.storage.setAlarm(now + WINDOW_MS);
    return verdict(true, attempts, max, now);
  }

  async clear(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  override async alarm(): Promise<void> {
    if (this.recentAttempts(Date.now()).length === 0) await this.ctx.storage.deleteAll();
  }

  private recentAttempts(now: number): number[] {
    const stored = this.ctx.storage.kv.get<number[]>("attempts") ?? [];
    return stored.filter((at) => now - at < WINDOW_MS);
  }
}

function verdict(allowed: boolean, attempts: number[], max: number, now: number): AttemptVerdict {
  const oldest = attempts[attempts.length - max] ?? now;
  const exhausted = attempts.length >= max;
  return {
    allowed,
    count: attempts.length,
    retryAfterSeconds: exhausted ? Math.max(1, Math.ceil((oldest + WINDOW_MS - now) / 1000)) : 0,
  };
}

/**
 * Who is asking, for counting: CF-Connecting-IP (set by Cloudflare; absent only on a local
 * `wrangler dev` hit without it). An IPv6 client usually holds a whole /64, so it is counted
 * by its /64: otherwise rotating through its own addresses would reset every limit.
 */
export function clientAddress(request: Request): string {
  const address = request.headers.get("CF-Connecting-IP")?.trim();
  if (!address) return "unknown";
  // An IPv4 client written as IPv6 (::ffff:a.b.c.d) is that IPv4 client, not one of a /64.
  const mapped = /^(?:::ffff:|0:0:0:0:0:ffff:)(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped) return mapped[1]!;
  return address.includes(":") ? ipv6Prefix64(address) : address;
}

function ipv6Prefix64(address: string): string {
  const bare = address
    .replace(/^\[|\]$/g, "")
    .split("%")[0]!
    .toLowerCase();
  const [head = "", tail] = bare.split("::", 2);
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill("0"), ...tailGroups];
  const prefix = groups
    .slice(0, 4)
    .map((group) => (/^[0-9a-f]{1,4}$/.test(group) ? group.replace(/^0+(?=.)/, "") : "0"));
  while (prefix.length < 4) prefix.push("0");
  return `${prefix.join(":")}::/64`;
}

/** The counter of one policy for the address a request came from. */
export function attemptsFor(env: Pick<Env, "ATTEMPT_LIMITER">, policy: AttemptPolicy, request: Request) {
  const stub = env.ATTEMPT_LIMITER.get(env.ATTEMPT_LIMITER.idFromName(`${policy.name}:${clientAddress(request)}`));
  return {
    reserve: (now?: number) => stub.reserve(policy.max, now),
    clear: () => stub.clear(),
  };
}
