// Streaming base64 decoding (RFC 4648, standard alphabet), strict about what it accepts.
//
// A trained model comes back from the toolkit as one base64 string that can be hundreds of
// megabytes, so decoding happens incrementally: `Base64Decoder` is the single
// implementation, used both by the TransformStream below and by the JSON extractor that
// pulls the string out of the toolkit's answer. It is strict because a silently
// mis-decoded model is worse than a failed download: only the 64 digits, ASCII whitespace
// (tolerated for line-wrapped encoders) and `=` padding at the very end are accepted.

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

const INVALID = -1;
const WHITESPACE = -2;
const PADDING = -3;

/** For each byte: its 6-bit value, or one of INVALID, WHITESPACE, PADDING. */
const DECODE_TABLE = (() => {
  const table = new Int8Array(256).fill(INVALID);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let v = 0; v < 64; v++) table[alphabet.charCodeAt(v)] = v;
  for (const ws of [0x20, 0x09, 0x0a, 0x0d, 0x0c]) table[ws] = WHITESPACE;
  table[0x3d] = PADDING;
  return table;
})();

/**
 * Incremental decoder. `push` returns the bytes of every complete 4-character group seen
 * so far (chunk boundaries can fall anywhere); `finish` checks that the text ended on a
 * group boundary. Errors are thrown as Base64Error and leave the decoder unusable.
 */
export class Base64Decoder {
  private readonly label: string;
  /** Up to 3 pending 6-bit values of an incomplete group, packed left to right. */
  private bits = 0;
  private digits = 0;
  /** "=" seen in the current group (0-2); after a complete padded group, only whitespace. */
  private pads = 0;
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
    // Each 4 characters give at most 3 bytes; pending digits can complete one more group.
    const out = new Uint8Array(Math.floor((this.digits + chunk.length) / 4) * 3 + 3);
    let o = 0;
    let bits = this.bits;
    let digits = this.digits;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] ?? 0;
      const v = DECODE_TABLE[c] ?? INVALID;
      if (v >= 0 && this.pads === 0 && !this.ended) {
        bits = (bits << 6) | v;
        if (++digits === 4) {
          out[o++] = (bits >>> 16) & 0xff;
          out[o++] = (bits >>> 8) & 0xff;
          out[o++] = bits & 0xff;
          bits = 0;
          digits = 0;
        }
        continue;
      }
      if (v === WHITESPACE) continue;
      const at = this.consumed + i;
      if (v === PADDING && !this.ended && (digits === 2 || digits === 3)) {
        this.pads++;
        if (digits + this.pads < 4) continue; // "xx=" waits for its second "="
        // Group complete: "xx==" carries one byte, "xxx=" two.
        if (digits === 2) {
          out[o++] = (bits >>> 4) & 0xff;
        } else {
          out[o++] = (bits >>> 10) & 0xff;
          out[o++] = (bits >>> 2) & 0xff;
        }
        bits = 0;
        digits = 0;
        this.pads = 0;
        this.ended = true;
        continue;
      }
      this.bits = bits;
      this.digits = digits;
      throw this.fail(this.describe(c, v, digits), at);
    }
    this.bits = bits;
    this.digits = digits;
    this.consumed += chunk.length;
    return out.subarray(0, o);
  }

  /** Checks the end of the text; returns no bytes (every complete group was already returned). */
  finish(): Uint8Array {
    if (this.failed) throw this.failed;
    // A pending "=" always follows pending digits, so this also catches "xx=".
    if (this.digits !== 0) {
      const left = this.digits + this.pads;
      throw this.fail(
        `it ends inside a 4-character group (${left} character${left === 1 ? "" : "s"} left over): ` +
          "a base64 length must be a multiple of 4, was the text cut off?",
        this.consumed,
      );
    }
    return new Uint8Array(0);
  }

  private describe(c: number, v: number, digits: number): string {
    if (this.ended) return `${showByte(c)} after the closing "=" padding`;
    if (this.pads > 0) return `${showByte(c)} after "=" padding`;
    if (v === PADDING) return `"=" as character ${digits + 1} of a 4-character group (only the 3rd and 4th may be "=")`;
    return c >= 0x21 && c <= 0x7e ? `invalid character ${showByte(c)}` : showByte(c);
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

function showByte(c: number): string {
  const hex = `0x${c.toString(16).padStart(2, "0")}`;
  if (c >= 0x21 && c <= 0x7e) return `'${String.fromCharCode(c)}' (${hex})`;
  return c >= 0x80 ? `non-ASCII byte ${hex}` : `control byte ${hex}`;
}
