// Where the characters of a JSON string go while the envelope parser reads it: kept strings
// are collected as text, the extracted field is base64-decoded as it streams past.

import { Base64Decoder } from "./base64-decode";

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

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
