// The building blocks of the streaming envelope parser (envelope-parser.ts): the JSON values
// it rebuilds and the error it throws, the byte-level grammar of JSON text (RFC 8259), the
// caps on what it keeps, and where the characters of a string go while it is read: kept
// strings are collected as text, the extracted field is base64-decoded as it streams past.

import { Base64Decoder } from "./base64";
import { concatBytes } from "../../common";

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

// Byte-level facts of JSON text.

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** Escape letter after "\" → the code unit it stands for ("\u" is handled apart). */
export const SIMPLE_ESCAPES: Readonly<Record<number, number>> = {
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
  0x2f: 0x2f, // \/  (some encoders escape every slash, and "/" is a base64 digit)
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
};

/** The number grammar, checked once a number's characters have all been read. */
export const NUMBER_PATTERN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Characters that can appear in a number: digits, "-", "+", ".", "e", "E". */
export function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** "character 'x'" for printable ASCII, "byte 0x0a" for anything else. */
export function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? `character '${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, "0")}`;
}

/** Builds a kept string from raw UTF-8 runs and escaped UTF-16 code units. */
export class TextCollector {
  /** Bytes of JSON text taken so far (an escape counts as one), for the size cap. */
  bytes = 0;
  private parts: Uint8Array[] = [];
  private text = "";
  private readonly utf8 = new TextDecoder();

  reset(): void {
    this.bytes = 0;
    this.parts = [];
    this.text = "";
  }

  appendRaw(run: Uint8Array): void {
    this.bytes += run.length;
    // Copied: the chunk belongs to the caller. Runs are joined before decoding, so a UTF-8
    // sequence split across chunks still decodes whole.
    this.parts.push(run.slice());
  }

  appendCodeUnit(code: number): void {
    this.bytes += 1;
    this.flushRaw();
    // Surrogate pairs arrive as two escapes and join up in the UTF-16 string by themselves.
    this.text += String.fromCharCode(code);
  }

  take(): string {
    this.flushRaw();
    const text = this.text;
    this.reset();
    return text;
  }

  private flushRaw(): void {
    if (this.parts.length === 0) return;
    this.text += this.utf8.decode(concatBytes(this.parts));
    this.parts = [];
  }
}

/**
 * Decodes the extracted field. Characters are staged in a scratch buffer and decoded once
 * per input chunk, so an encoder that escapes "/" as "\/" costs no extra calls.
 */
export class Base64FieldSink {
  private readonly decoder: Base64Decoder;
  private scratch = new Uint8Array(0);
  private length = 0;

  constructor(label: string) {
    this.decoder = new Base64Decoder({ label });
  }

  /** Makes room for one input chunk: at most its length, plus one escape begun earlier. */
  reserve(chunkLength: number): void {
    if (this.length === 0 && this.scratch.length < chunkLength + 4) this.scratch = new Uint8Array(chunkLength + 4);
  }

  appendRaw(run: Uint8Array): void {
    this.scratch.set(run, this.length);
    this.length += run.length;
  }

  appendCodeUnit(code: number): void {
    // Non-ASCII is staged as UTF-8 so the decoder rejects it like any other bad byte.
    if (code < 0x80) {
      this.put(code);
    } else if (code < 0x800) {
      this.put(0xc0 | (code >> 6));
      this.put(0x80 | (code & 63));
    } else {
      this.put(0xe0 | (code >> 12));
      this.put(0x80 | ((code >> 6) & 63));
      this.put(0x80 | (code & 63));
    }
  }

  /** Decodes what is staged; returns the bytes (possibly none). */
  flush(): Uint8Array {
    if (this.length === 0) return new Uint8Array(0);
    const out = this.decoder.push(this.scratch.subarray(0, this.length));
    this.length = 0;
    return out;
  }

  /** At the closing quote: decodes the rest and checks the text ended on a group boundary. */
  finish(): Uint8Array {
    const out = this.flush();
    this.decoder.finish();
    return out;
  }

  private put(byte: number): void {
    this.scratch[this.length++] = byte;
  }
}
