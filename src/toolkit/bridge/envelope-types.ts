// Shared vocabulary of the download extractor: the envelope's JSON shape, its error, its caps.

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Malformed, truncated or oversized JSON; `offset` is the byte position in the answer. */
export class JsonStreamError extends Error {
  override readonly name = "JsonStreamError";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Caps on what is kept of the envelope (everything but the extracted field). */
export interface EnvelopeLimits {
  /** Longest string or key kept, in bytes of JSON text. The toolkit's messages are short. */
  maxStringBytes: number;
  /** Total bytes of keys, strings and numbers kept across the envelope. */
  maxEnvelopeBytes: number;
  /** Number of values kept (scalars and containers): bounds deep or wide junk. */
  maxValues: number;
}

export const DEFAULT_ENVELOPE_LIMITS: Readonly<EnvelopeLimits> = {
  maxStringBytes: 1024 * 1024,
  maxEnvelopeBytes: 4 * 1024 * 1024,
  maxValues: 10_000,
};

/** Counts what the parser keeps of the envelope and throws once a cap is passed. */
export class EnvelopeBudget {
  private bytes = 0;
  private values = 0;

  constructor(
    private readonly limits: EnvelopeLimits,
    /** The extracted field's path, e.g. "result.data": it is never counted. */
    private readonly fieldLabel: string,
  ) {}

  /** The string (or key) opened at byte `at` has reached `bytes`. */
  checkString(bytes: number, at: number): void {
    if (bytes > this.limits.maxStringBytes) this.refuse(`a string longer than ${this.limits.maxStringBytes} bytes`, at);
  }

  /** A finished string, key or number of `bytes` is kept. */
  keep(bytes: number, at: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limits.maxEnvelopeBytes) {
      this.refuse(`more than ${this.limits.maxEnvelopeBytes} bytes of fields besides ${this.fieldLabel}`, at);
    }
  }

  /** A value (scalar or container) begins. */
  countValue(at: number): void {
    if (++this.values > this.limits.maxValues) {
      this.refuse(`more than ${this.limits.maxValues} values besides ${this.fieldLabel}`, at);
    }
  }

  private refuse(what: string, at: number): never {
    throw new JsonStreamError(`the toolkit's answer holds ${what} (at byte ${at}); refusing to keep it in memory`, at);
  }
}
