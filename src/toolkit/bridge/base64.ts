// Streaming base64 (RFC 4648, standard alphabet, padded) in both directions, on the
// platform's own codecs (Uint8Array.prototype.toBase64 and setFromBase64).
//
// Files cross the toolkit's JSON-only protocol as base64: a dataset upload is encoded on the
// fly into one request body, and a trained model comes back as one base64 string that can be
// hundreds of megabytes, decoded as it streams in. An isolate has 128 MB, so neither side is
// ever held whole. The platform converts whole strings; what this module adds is the
// streaming: a chunk boundary can fall inside a 3-byte or a 4-character group, and the
// leftover is carried to the next chunk.
//
// Decoding is strict because a silently mis-decoded model is worse than a failed download:
// only the 64 digits, ASCII whitespace (tolerated for line-wrapped encoders) and "=" padding
// at the very end are accepted, and a refusal names the offending character and its offset.

/** A base64 text that cannot be decoded; `offset` counts characters of the base64 text. */
export class Base64Error extends Error {
  override readonly name = "Base64Error";
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface Base64DecoderOptions {
  /** Names the text in error messages, e.g. "result.data"; defaults to "base64 text". */
  label?: string;
}

const PAD = 0x3d; // "="
const WHITESPACE = /[\t\n\f\r ]/g;
const NOT_WHITESPACE = /[^\t\n\f\r ]/;
/** What may be left of a text that is not over yet: up to 3 digits, or 2 digits and "=". */
const PARTIAL_GROUP = /^(?:[A-Za-z0-9+/]{0,3}|[A-Za-z0-9+/]{2}=)$/;
/** One character per byte, so string positions are byte positions (non-ASCII is refused anyway). */
const bytesAsText = new TextDecoder("latin1");

/**
 * Incremental decoder. `push` returns the bytes of every complete 4-character group seen
 * so far (chunk boundaries can fall anywhere); `finish` checks that the text ended on a
 * group boundary. Errors are thrown as Base64Error and leave the decoder unusable.
 */
export class Base64Decoder {
  private readonly label: string;
  /** The characters of an incomplete group, whitespace removed: up to 3 digits, maybe one "=". */
  private pending = "";
  /** The padded final group has been decoded: only whitespace may follow. */
  private ended = false;
  private failed: Base64Error | null = null;
  /** Characters consumed so far, for error offsets. */
  private consumed = 0;

  constructor(options: Base64DecoderOptions = {}) {
    this.label = options.label ?? "base64 text";
  }

  /** Characters consumed so far, including whitespace. */
  get offset(): number {
    return this.consumed;
  }

  push(chunk: Uint8Array): Uint8Array {
    if (this.failed) throw this.failed;
    const text = this.pending + bytesAsText.decode(chunk);
    // The platform would read a second text after the closing padding as a new one.
    if (this.ended && NOT_WHITESPACE.test(text)) throw this.diagnose(chunk);
    // Every 3 bytes take 4 characters, so this always has room.
    const out = new Uint8Array(Math.floor(text.length / 4) * 3);
    let decoded: { read: number; written: number };
    try {
      decoded = out.setFromBase64(text, { lastChunkHandling: "stop-before-partial" });
    } catch {
      throw this.diagnose(chunk);
    }
    // "=" can only be in the final group, so one among the characters read ends the text.
    const pad = text.indexOf("=");
    if (pad >= 0 && pad < decoded.read) this.ended = true;
    const pending = text.slice(decoded.read).replace(WHITESPACE, "");
    // The platform leaves the unread rest unchecked, so a bad character there is found here.
    if (!PARTIAL_GROUP.test(pending)) throw this.diagnose(chunk);
    this.pending = pending;
    this.consumed += chunk.length;
    return out.subarray(0, decoded.written);
  }

  /** Checks the end of the text; returns no bytes (every complete group was already returned). */
  finish(): Uint8Array {
    if (this.failed) throw this.failed;
    // A pending "=" always follows pending digits, so this also catches "xx=".
    if (this.pending.length !== 0) {
      const left = this.pending.length;
      throw this.fail(
        `it ends inside a 4-character group (${left} character${left === 1 ? "" : "s"} left over): ` +
          "a base64 length must be a multiple of 4, was the text cut off?",
        this.consumed,
      );
    }
    return new Uint8Array(0);
  }

  /**
   * The platform only says that a text is not base64; this finds the first character of
   * `chunk` that makes it so, continuing from the group the earlier chunks left open.
   */
  private diagnose(chunk: Uint8Array): Base64Error {
    let pads = this.pending.endsWith("=") ? 1 : 0;
    let digits = this.pending.length - pads;
    let ended = this.ended;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] ?? 0;
      if (isWhitespace(c)) continue;
      if (isDigit(c) && pads === 0 && !ended) {
        digits = (digits + 1) % 4;
        continue;
      }
      if (c === PAD && !ended && (digits === 2 || digits === 3)) {
        if (digits + ++pads === 4) ended = true; // "xx==" or "xxx=": the text is complete
        continue;
      }
      return this.fail(describe(c, digits, pads, ended), this.consumed + i);
    }
    return this.fail("the platform's decoder refused it", this.consumed);
  }

  private fail(what: string, at: number): Base64Error {
    this.failed = new Base64Error(`invalid ${this.label} at offset ${at}: ${what}`, at);
    return this.failed;
  }
}

/**
 * A TransformStream from ASCII base64 bytes (any chunking, whitespace allowed) to the
 * decoded bytes. Malformed input errors the stream with a Base64Error.
 */
export function createBase64DecodeStream(options: Base64DecoderOptions = {}): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new Base64Decoder(options);
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      const out = decoder.push(chunk);
      if (out.length > 0) controller.enqueue(out);
    },
    flush() {
      decoder.finish();
    },
  });
}

/**
 * Input bytes encoded per output chunk. A multiple of 3, so every slice but the last
 * encodes without a carry, and each output chunk is 64 KiB: small enough to keep memory
 * flat, large enough that per-chunk stream overhead does not matter.
 */
export const ENCODE_SLICE_BYTES = 3 * 16 * 1024;

/** Length in bytes of the padded base64 text for `byteLength` input bytes. */
export function base64EncodedLength(byteLength: number): number {
  if (!Number.isSafeInteger(byteLength) || byteLength < 0) {
    throw new RangeError(`base64EncodedLength: expected a byte count, got ${String(byteLength)}`);
  }
  return Math.ceil(byteLength / 3) * 4;
}

const asciiBytes = new TextEncoder();

/**
 * Incremental encoder: `push` returns the base64 of every complete 3-byte group seen so
 * far and keeps the 0-2 leftover bytes for the next call; `finish` pads and emits them.
 */
export class Base64Encoder {
  private readonly carry = new Uint8Array(3);
  private carryLength = 0;
  private finished = false;

  push(chunk: Uint8Array): Uint8Array {
    if (this.finished) throw new Error("Base64Encoder: push() after finish()");
    let text = "";
    let start = 0;
    // Complete the group started by the previous chunk, if there is one.
    if (this.carryLength > 0) {
      start = Math.min(3 - this.carryLength, chunk.length);
      this.carry.set(chunk.subarray(0, start), this.carryLength);
      this.carryLength += start;
      if (this.carryLength < 3) return new Uint8Array(0); // still fewer than 3 bytes in hand
      text = this.carry.toBase64();
      this.carryLength = 0;
    }
    const end = start + Math.floor((chunk.length - start) / 3) * 3;
    text += chunk.subarray(start, end).toBase64();
    this.carryLength = chunk.length - end;
    this.carry.set(chunk.subarray(end));
    return asciiBytes.encode(text);
  }

  /** The padded final group (empty when the input length was a multiple of 3). */
  finish(): Uint8Array {
    if (this.finished) throw new Error("Base64Encoder: finish() called twice");
    this.finished = true;
    return asciiBytes.encode(this.carry.subarray(0, this.carryLength).toBase64());
  }
}

/**
 * Encodes `chunk` in slices of at most ENCODE_SLICE_BYTES, so one huge input chunk never
 * turns into one huge output chunk. Empty outputs are skipped.
 */
export function* encodeInSlices(encoder: Base64Encoder, chunk: Uint8Array): Generator<Uint8Array> {
  for (let start = 0; start < chunk.length; start += ENCODE_SLICE_BYTES) {
    const out = encoder.push(chunk.subarray(start, start + ENCODE_SLICE_BYTES));
    if (out.length > 0) yield out;
  }
}

/** A TransformStream from raw bytes to ASCII base64 bytes (padded at the end). */
export function createBase64EncodeStream(): TransformStream<Uint8Array, Uint8Array> {
  const encoder = new Base64Encoder();
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      for (const out of encodeInSlices(encoder, chunk)) controller.enqueue(out);
    },
    flush(controller) {
      const tail = encoder.finish();
      if (tail.length > 0) controller.enqueue(tail);
    },
  });
}

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0c;
}

/** A digit of the standard alphabet: A-Z, a-z, 0-9, "+", "/". */
function isDigit(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2f;
}

function describe(c: number, digits: number, pads: number, ended: boolean): string {
  if (ended) return `${showByte(c)} after the closing "=" padding`;
  if (pads > 0) return `${showByte(c)} after "=" padding`;
  if (c === PAD) return `"=" as character ${digits + 1} of a 4-character group (only the 3rd and 4th may be "=")`;
  return c >= 0x21 && c <= 0x7e ? `invalid character ${showByte(c)}` : showByte(c);
}

function showByte(c: number): string {
  const hex = `0x${c.toString(16).padStart(2, "0")}`;
  if (c >= 0x21 && c <= 0x7e) return `'${String.fromCharCode(c)}' (${hex})`;
  return c >= 0x80 ? `non-ASCII byte ${hex}` : `control byte ${hex}`;
}
