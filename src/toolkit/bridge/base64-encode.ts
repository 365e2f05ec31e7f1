// Streaming base64 encoding (RFC 4648, standard alphabet, with padding), byte to byte.
//
// The toolkit only accepts files as base64 inside one JSON body, so a dataset upload is
// encoded on the fly rather than held in memory: an isolate has 128 MB and a dataset can
// be far larger. The encoder works on bytes and never builds strings, so its cost is
// linear in the input and each output chunk is bounded in size.

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const PAD = 0x3d; // "="

/** ASCII code of each of the 64 base64 digits. */
const ENCODE_TABLE = Uint8Array.from(ALPHABET, (char) => char.charCodeAt(0));

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

/**
 * Incremental encoder: `push` returns the base64 of every complete 3-byte group seen so
 * far and keeps the 0-2 leftover bytes for the next call; `finish` pads and emits them.
 */
export class Base64Encoder {
  private readonly carry = new Uint8Array(2);
  private carryLength = 0;
  private finished = false;

  push(chunk: Uint8Array): Uint8Array {
    if (this.finished) throw new Error("Base64Encoder: push() after finish()");
    const total = this.carryLength + chunk.length;
    const out = new Uint8Array(Math.floor(total / 3) * 4);
    let o = 0;
    let i = 0;

    // Complete the group started by the previous chunk, if there is one.
    if (this.carryLength > 0) {
      const need = 3 - this.carryLength;
      if (chunk.length < need) {
        this.carry.set(chunk, this.carryLength);
        this.carryLength += chunk.length;
        return out; // empty: still fewer than 3 bytes in hand
      }
      const b0 = this.carry[0] ?? 0;
      const b1 = this.carryLength === 2 ? (this.carry[1] ?? 0) : (chunk[0] ?? 0);
      const b2 = chunk[need - 1] ?? 0;
      o = writeGroup(out, o, b0, b1, b2);
      i = need;
      this.carryLength = 0;
    }

    const end = i + Math.floor((chunk.length - i) / 3) * 3;
    for (; i < end; i += 3) {
      o = writeGroup(out, o, chunk[i] ?? 0, chunk[i + 1] ?? 0, chunk[i + 2] ?? 0);
    }

    this.carryLength = chunk.length - end;
    if (this.carryLength > 0) this.carry.set(chunk.subarray(end));
    return out;
  }

  /** The padded final group (empty when the input length was a multiple of 3). */
  finish(): Uint8Array {
    if (this.finished) throw new Error("Base64Encoder: finish() called twice");
    this.finished = true;
    if (this.carryLength === 0) return new Uint8Array(0);
    const b0 = this.carry[0] ?? 0;
    const b1 = this.carryLength === 2 ? (this.carry[1] ?? 0) : 0;
    const out = new Uint8Array(4);
    writeGroup(out, 0, b0, b1, 0);
    out[3] = PAD;
    if (this.carryLength === 1) out[2] = PAD;
    return out;
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

function writeGroup(out: Uint8Array, o: number, b0: number, b1: number, b2: number): number {
  const n = (b0 << 16) | (b1 << 8) | b2;
  out[o] = ENCODE_TABLE[n >>> 18] ?? 0;
  out[o + 1] = ENCODE_TABLE[(n >>> 12) & 63] ?? 0;
  out[o + 2] = ENCODE_TABLE[(n >>> 6) & 63] ?? 0;
  out[o + 3] = ENCODE_TABLE[n & 63] ?? 0;
  return o + 4;
}
