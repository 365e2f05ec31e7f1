/**
 * A per-isolate cache of access-token records, so a client's run of /mcp requests does not pay
 * one OAUTH_KV read each, and of the library's verdicts on the tokens it let through.
 *
 * It sits under the OAuth library, in front of OAUTH_KV, and keeps only what the library reads
 * with `get("token:<user>:<grant>:<sha256 of the token>")`. The library still makes every
 * decision on every request: it derives the key from the token, checks the record's audience
 * against the resource, its expiry against the clock, and decrypts the props with a key
 * unwrapped by the token itself. A cached record is therefore worth nothing without the token,
 * and the cache saves the read, never a check. The trade-off (README.md, "Sign-in and
 * security"): a token revoked through another isolate keeps working in this one for at most
 * TOKEN_CACHE_TTL_MS.
 *
 * Verdicts go one step further, for requests to /mcp without an Origin (every remote client but a
 * browser page): once the library has let a token through for a resource and a URL, it has put
 * the caller on the execution context (`ctx.props`, `ctx.auth`). That verdict is kept beside the
 * token's record, keyed by the resource, the URL and the token itself, and lives no longer than
 * the record's entry (so never past the token's expiry, nor TOKEN_CACHE_TTL_MS); whatever drops
 * the record (a revocation in this isolate) drops the verdict with it. A request whose verdict is
 * kept skips the library: the same token at the same URL would only be checked to the same end.
 * A browser request always goes through the library, which adds its CORS headers.
 */

/** How long a revocation made elsewhere may go unnoticed here. */
export const TOKEN_CACHE_TTL_MS = 30_000;
/** Records kept per isolate, least recently used dropped first: a Worker has a handful of clients. */
export const TOKEN_CACHE_MAX_ENTRIES = 256;

const TOKEN_KEY_PREFIX = "token:";

/** What the library put on the execution context for a token it let through. */
export interface TokenVerdict {
  props: unknown;
  auth: unknown;
}

interface VerdictEntry {
  /** The verdict as JSON text: each request gets its own parsed copy. */
  text: string;
  /** The token record's key, so that dropping the record drops the verdict. */
  recordKey: string;
  until: number;
}

/** The library's own pattern for the Authorization header. */
const BEARER = /^Bearer[\t ]+([^\s,]+)$/i;

interface Entry {
  /** The record as KV stored it (JSON text): each reader gets its own parsed copy. */
  text: string;
  /** Milliseconds since the epoch after which the entry is never served. */
  until: number;
}

export class TokenRecordCache {
  /** Insertion order is recency order: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly verdicts = new Map<string, VerdictEntry>();

  constructor(
    private readonly now: () => number = () => Date.now(),
    private readonly ttlMs = TOKEN_CACHE_TTL_MS,
    private readonly maxEntries = TOKEN_CACHE_MAX_ENTRIES,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get verdictCount(): number {
    return this.verdicts.size;
  }

  /** The kept verdict for this request's token at this resource and URL, as a fresh copy, if any. */
  verdictFor(resource: string, request: Request): TokenVerdict | undefined {
    const key = verdictKey(resource, request);
    const entry = key === undefined ? undefined : this.verdicts.get(key);
    if (!entry) return undefined;
    this.verdicts.delete(key!);
    if (this.now() >= entry.until) return undefined;
    this.verdicts.set(key!, entry);
    return JSON.parse(entry.text) as TokenVerdict;
  }

  /**
   * Keeps what the library concluded of this request's token, which it read as `recordKey`: only
   * while that record is itself kept, and never longer.
   */
  rememberVerdict(resource: string, request: Request, recordKey: string, verdict: TokenVerdict): void {
    const key = verdictKey(resource, request);
    const record = this.entries.get(`${resource} ${recordKey}`);
    if (key === undefined || !record || !(record.until > this.now())) return;
    this.verdicts.delete(key);
    this.verdicts.set(key, { text: JSON.stringify(verdict), recordKey, until: record.until });
    while (this.verdicts.size > this.maxEntries) this.verdicts.delete(this.verdicts.keys().next().value as string);
  }

  /**
   * The token store one request should see: reads of token records bound for `resource` come
   * from the cache when fresh; writes and deletes of a token record drop it for every resource,
   * so a revocation in this isolate takes effect at once.
   */
  store(kv: KVNamespace, resource: string, onTokenRead?: (recordKey: string) => void): KVNamespace {
    const cachedGet = async (key: unknown, options?: unknown): Promise<unknown> => {
      if (typeof key !== "string" || !key.startsWith(TOKEN_KEY_PREFIX) || !isJsonRead(options)) {
        return (kv.get as (key: unknown, options?: unknown) => Promise<unknown>)(key, options);
      }
      onTokenRead?.(key);
      const cacheKey = `${resource} ${key}`;
      const hit = this.read(cacheKey);
      if (hit !== undefined) return JSON.parse(hit) as unknown;
      const text = await kv.get(key, { type: "text" });
      // Only records that exist are kept: an unknown token costs a read every time, so made-up
      // tokens cannot push real ones out.
      if (text !== null) this.write(cacheKey, text);
      return text === null ? null : (JSON.parse(text) as unknown);
    };
    const forgetting =
      <A extends unknown[], R>(method: (key: string, ...rest: A) => Promise<R>) =>
      async (key: string, ...rest: A): Promise<R> => {
        if (key.startsWith(TOKEN_KEY_PREFIX)) this.forget(key);
        try {
          return await method.call(kv, key, ...rest);
        } finally {
          // Dropped again afterwards: a read that was under way may have cached the old record.
          if (key.startsWith(TOKEN_KEY_PREFIX)) this.forget(key);
        }
      };
    const overrides: Partial<Record<keyof KVNamespace, unknown>> = {
      get: cachedGet,
      put: forgetting(kv.put),
      delete: forgetting(kv.delete),
    };
    return new Proxy(kv, {
      get(target, property) {
        if (typeof property === "string" && property in overrides) return overrides[property as keyof KVNamespace];
        const value: unknown = Reflect.get(target, property);
        // Binding methods need the binding as `this`.
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  }

  private read(cacheKey: string): string | undefined {
    const entry = this.entries.get(cacheKey);
    if (!entry) return undefined;
    this.entries.delete(cacheKey);
    if (this.now() >= entry.until) return undefined;
    this.entries.set(cacheKey, entry);
    return entry.text;
  }

  private write(cacheKey: string, text: string): void {
    const until = Math.min(this.now() + this.ttlMs, expiresAtMs(text));
    if (!(until > this.now())) return;
    this.entries.delete(cacheKey);
    this.entries.set(cacheKey, { text, until });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** Drops a token record under every resource it was cached for, and every verdict made from it. */
  private forget(key: string): void {
    for (const cacheKey of [...this.entries.keys()]) {
      if (cacheKey.endsWith(` ${key}`)) this.entries.delete(cacheKey);
    }
    for (const [kept, entry] of [...this.verdicts]) {
      if (entry.recordKey === key) this.verdicts.delete(kept);
    }
  }
}

/**
 * A verdict holds for one token at one resource and one URL: the library checks the token's
 * audience against both. Undefined for a request without a bearer token.
 */
function verdictKey(resource: string, request: Request): string | undefined {
  const token = BEARER.exec(request.headers.get("Authorization") ?? "")?.[1];
  if (token === undefined) return undefined;
  const url = new URL(request.url);
  return `${resource}\n${url.origin}${url.pathname}${url.search}\n${token}`;
}

/** The library reads token records as JSON; any other read shape passes through untouched. */
function isJsonRead(options: unknown): boolean {
  return (
    options === "json" ||
    (typeof options === "object" && options !== null && (options as { type?: unknown }).type === "json")
  );
}

/**
 * The record's own expiry (`expiresAt`, seconds since the epoch), so no entry outlives its
 * token. A record without a readable one is never cached.
 */
function expiresAtMs(text: string): number {
  try {
    const expiresAt = (JSON.parse(text) as { expiresAt?: unknown }).expiresAt;
    return typeof expiresAt === "number" ? expiresAt * 1000 : 0;
  } catch {
    return 0;
  }
}

/** The one cache of this isolate. */
export const tokenRecords = new TokenRecordCache();
