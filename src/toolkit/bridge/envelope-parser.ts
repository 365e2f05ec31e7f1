// An incremental JSON parser that rebuilds a small envelope while one string field inside
// it is decoded from base64 and handed out as bytes, never held.
//
// `download_model` answers with the whole model as one base64 string inside a JSON
// object, so neither `response.json()` nor any buffering parser fits in an isolate. This
// parser is byte-driven: chunk boundaries may fall anywhere (inside keys, escapes, numbers,
// literals, base64 groups), and everything it keeps between chunks (the rest of the
// envelope, a partly read string) is capped, so a hostile answer cannot exhaust memory.

import { concatBytes } from "../../common";
import {
  BACKSLASH,
  Base64FieldSink,
  DEFAULT_ENVELOPE_LIMITS,
  describeByte,
  EnvelopeBudget,
  hexValue,
  isJsonWhitespace,
  isNumberByte,
  JsonStreamError,
  NUMBER_PATTERN,
  QUOTE,
  SIMPLE_ESCAPES,
  TextCollector,
  type EnvelopeLimits,
  type JsonObject,
  type JsonValue,
} from "./json-stream";

type Frame =
  { kind: "object"; value: JsonObject; key: string; onPath: boolean } | { kind: "array"; value: JsonValue[] };

// Parser states: what the next significant byte may be.
const ROOT = 0; // before the top-level "{"
const VALUE = 1; // after ":" or "," in an array
const VALUE_OR_CLOSE = 2; // after "["
const KEY_OR_CLOSE = 3; // after "{"
const KEY = 4; // after "," in an object
const COLON = 5;
const COMMA_OR_CLOSE = 6; // after a value inside a container
const STRING = 7;
const NUMBER = 8;
const LITERAL = 9;
const DONE = 10; // after the top-level "}"

const EXPECTED = ["a JSON object", "a value", "a value or ']'", "a key or '}'", "a key in double quotes", "':'"];

const MAX_NUMBER_CHARS = 512;

export class EnvelopeParser {
  private readonly budget: EnvelopeBudget;
  private readonly label: string;
  private state = ROOT;
  private readonly stack: Frame[] = [];
  private root: JsonObject | null = null;
  private base = 0; // bytes consumed before the current chunk

  // Current string: its kind, escape progress, and (for kept strings) its text so far.
  private stringIsKey = false;
  private escape = 0; // 0 none, 1 after "\", 2..5 reading the 4 hex digits of "\u"
  private codeUnit = 0;
  private stringStart = 0; // byte offset of the opening quote, for error messages
  private readonly text = new TextCollector();

  private literal = "";
  private literalIndex = 0;
  private numberText = "";

  // The extracted field: decoded while its string is open, handed out once per chunk.
  private field: Base64FieldSink | null = null;
  private fieldSeen = false;
  private output: Uint8Array[] = [];

  constructor(
    private readonly fieldPath: readonly string[],
    limits: Partial<EnvelopeLimits> = {},
  ) {
    if (fieldPath.length === 0) throw new TypeError("EnvelopeParser: fieldPath must name at least one key");
    this.label = fieldPath.join(".");
    this.budget = new EnvelopeBudget({ ...DEFAULT_ENVELOPE_LIMITS, ...limits }, this.label);
  }

  /** Feeds the next chunk of the answer; returns the field's bytes decoded from it. */
  write(chunk: Uint8Array): Uint8Array {
    this.field?.reserve(chunk.length);
    let i = 0;
    while (i < chunk.length) {
      if (this.state === STRING) i = this.scanString(chunk, i);
      else if (this.state === NUMBER) i = this.scanNumber(chunk, i);
      else i = this.structural(chunk, i);
    }
    this.base += chunk.length;
    if (this.field) this.emit(this.field.flush());
    const parts = this.output;
    this.output = [];
    return concatBytes(parts);
  }

  /** Declares the end of the answer; returns the envelope without the extracted field. */
  end(): JsonObject {
    if (this.state !== DONE || this.root === null) {
      if (this.base === 0) throw new JsonStreamError("the toolkit's answer was empty", 0);
      throw new JsonStreamError(
        `the toolkit's answer was cut off after ${this.base} bytes (${this.where()})`,
        this.base,
      );
    }
    return this.root;
  }

  /** Handles one byte outside strings and numbers; returns the next index. */
  private structural(chunk: Uint8Array, i: number): number {
    const c = chunk[i] ?? 0;
    const state = this.state;
    if (state !== LITERAL && isJsonWhitespace(c)) return i + 1;
    const top = this.stack[this.stack.length - 1];
    if (state === LITERAL) {
      if (c !== this.literal.charCodeAt(this.literalIndex)) throw this.unexpected(c, i, `'${this.literal}'`);
      if (++this.literalIndex === this.literal.length) {
        this.attach(this.literal === "null" ? null : this.literal === "true");
      }
      return i + 1;
    }
    if (state === ROOT) {
      if (c !== 0x7b) throw this.unexpected(c, i, "a JSON object");
      this.root = {};
      this.stack.push({ kind: "object", value: this.root, key: "", onPath: true });
      this.state = KEY_OR_CLOSE;
      return i + 1;
    }
    if (state === VALUE || (state === VALUE_OR_CLOSE && c !== 0x5d)) return this.startValue(chunk, c, i);
    if ((state === KEY || state === KEY_OR_CLOSE) && c === 0x22) {
      this.beginString(true, i);
      return i + 1;
    }
    if (state === COLON && c === 0x3a) {
      this.state = VALUE;
      return i + 1;
    }
    if (state === COMMA_OR_CLOSE && c === 0x2c && top) {
      this.state = top.kind === "object" ? KEY : VALUE;
      return i + 1;
    }
    const closes = top?.kind === "object" ? 0x7d : 0x5d;
    const mayClose = state === COMMA_OR_CLOSE || state === (top?.kind === "object" ? KEY_OR_CLOSE : VALUE_OR_CLOSE);
    if (mayClose && c === closes) {
      this.stack.pop();
      this.state = this.stack.length === 0 ? DONE : COMMA_OR_CLOSE;
      return i + 1;
    }
    if (state === DONE) throw this.unexpected(c, i, "nothing after the end of the answer");
    if (state === COMMA_OR_CLOSE) throw this.unexpected(c, i, `',' or '${String.fromCharCode(closes)}'`);
    throw this.unexpected(c, i, EXPECTED[state] ?? "a value");
  }

  private startValue(chunk: Uint8Array, c: number, i: number): number {
    this.budget.countValue(this.base + i);
    if (c === QUOTE) {
      const isData = this.atField();
      if (isData && this.fieldSeen) {
        throw new JsonStreamError(
          `${this.label} appears twice in the toolkit's answer (byte ${this.base + i})`,
          this.base + i,
        );
      }
      if (isData) {
        this.fieldSeen = true;
        this.field = new Base64FieldSink(this.label);
        this.field.reserve(chunk.length - i);
      }
      this.beginString(false, i);
      return i + 1;
    }
    if (c === 0x7b || c === 0x5b) {
      const top = this.stack[this.stack.length - 1];
      const depth = this.stack.length;
      const onPath =
        top?.kind === "object" && top.onPath && depth < this.fieldPath.length && top.key === this.fieldPath[depth - 1];
      const frame: Frame = c === 0x7b ? { kind: "object", value: {}, key: "", onPath } : { kind: "array", value: [] };
      this.attach(frame.value);
      this.stack.push(frame);
      this.state = c === 0x7b ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
      return i + 1;
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.numberText = "";
      this.state = NUMBER;
      return i; // scanNumber takes it from here, this byte included
    }
    const literal = c === 0x74 ? "true" : c === 0x66 ? "false" : c === 0x6e ? "null" : "";
    if (!literal) throw this.unexpected(c, i, EXPECTED[this.state] ?? "a value");
    this.literal = literal;
    this.literalIndex = 1;
    this.state = LITERAL;
    return i + 1;
  }

  /** True when the value about to start sits at `fieldPath`. */
  private atField(): boolean {
    const top = this.stack[this.stack.length - 1];
    return (
      top?.kind === "object" &&
      top.onPath &&
      this.stack.length === this.fieldPath.length &&
      top.key === this.fieldPath[this.fieldPath.length - 1]
    );
  }

  private scanNumber(chunk: Uint8Array, i: number): number {
    const start = i;
    while (i < chunk.length && isNumberByte(chunk[i] ?? 0)) i++;
    if (this.numberText.length + (i - start) > MAX_NUMBER_CHARS) {
      const at = this.base + i;
      throw new JsonStreamError(
        `a number longer than ${MAX_NUMBER_CHARS} characters at byte ${at} of the toolkit's answer`,
        at,
      );
    }
    this.numberText += String.fromCharCode(...chunk.subarray(start, i));
    if (i === chunk.length) return i; // the number may continue in the next chunk
    if (!NUMBER_PATTERN.test(this.numberText)) {
      const at = this.base + i - this.numberText.length;
      throw new JsonStreamError(`malformed number '${this.numberText}' at byte ${at}`, at);
    }
    this.budget.keep(this.numberText.length, this.base + i);
    this.attach(Number(this.numberText));
    return i; // the byte that ended the number is structural: handle it next
  }

  private beginString(isKey: boolean, i: number): void {
    this.stringIsKey = isKey;
    this.stringStart = this.base + i;
    this.escape = 0;
    this.text.reset();
    this.state = STRING;
  }

  private scanString(chunk: Uint8Array, i: number): number {
    while (i < chunk.length) {
      if (this.escape > 0) {
        i = this.scanEscape(chunk, i);
        continue;
      }
      const start = i;
      let c = 0;
      // The hot loop: for the extracted field this runs over nearly every byte.
      while (i < chunk.length && (c = chunk[i] ?? 0) !== QUOTE && c !== BACKSLASH && c >= 0x20) i++;
      if (i > start) this.appendRaw(chunk.subarray(start, i));
      if (i === chunk.length) break;
      if (c === QUOTE) {
        this.endString();
        return i + 1;
      }
      if (c === BACKSLASH) {
        this.escape = 1;
        i++;
        continue;
      }
      throw this.unexpected(c, i, "no raw control characters inside a string");
    }
    return i;
  }

  private scanEscape(chunk: Uint8Array, i: number): number {
    const c = chunk[i] ?? 0;
    if (this.escape === 1) {
      if (c === 0x75) {
        this.escape = 2;
        this.codeUnit = 0;
        return i + 1;
      }
      const code = SIMPLE_ESCAPES[c];
      if (code === undefined) throw this.unexpected(c, i, 'an escape ("\\n", "\\u00e9", ...) after "\\"');
      this.escape = 0;
      this.appendCodeUnit(code);
      return i + 1;
    }
    const digit = hexValue(c);
    if (digit < 0) throw this.unexpected(c, i, 'a hex digit in a "\\u" escape');
    this.codeUnit = (this.codeUnit << 4) | digit;
    if (++this.escape === 6) {
      this.escape = 0;
      this.appendCodeUnit(this.codeUnit);
    }
    return i + 1;
  }

  private appendRaw(run: Uint8Array): void {
    if (this.field) {
      this.field.appendRaw(run);
    } else {
      this.text.appendRaw(run);
      this.budget.checkString(this.text.bytes, this.stringStart);
    }
  }

  private appendCodeUnit(code: number): void {
    if (this.field) {
      this.field.appendCodeUnit(code);
    } else {
      this.text.appendCodeUnit(code);
      this.budget.checkString(this.text.bytes, this.stringStart);
    }
  }

  private endString(): void {
    if (this.field) {
      this.emit(this.field.finish());
      this.field = null;
      this.state = COMMA_OR_CLOSE;
      return;
    }
    this.budget.keep(this.text.bytes, this.stringStart);
    const text = this.text.take();
    if (this.stringIsKey) {
      const top = this.stack[this.stack.length - 1];
      if (top?.kind === "object") top.key = text;
      this.state = COLON;
      return;
    }
    this.attach(text);
  }

  /** Stores a finished value in its container (the root is stored when it opens). */
  private attach(value: JsonValue): void {
    const top = this.stack[this.stack.length - 1];
    if (top?.kind === "array") top.value.push(value);
    // defineProperty, like JSON.parse: a "__proto__" key must stay a plain property.
    else if (top)
      Object.defineProperty(top.value, top.key, { value, enumerable: true, writable: true, configurable: true });
    this.state = COMMA_OR_CLOSE;
  }

  private emit(bytes: Uint8Array): void {
    if (bytes.length > 0) this.output.push(bytes);
  }

  private unexpected(c: number, i: number, expected: string): JsonStreamError {
    const at = this.base + i;
    return new JsonStreamError(
      `unexpected ${describeByte(c)} at byte ${at} of the toolkit's answer (expected ${expected})`,
      at,
    );
  }

  private where(): string {
    if (this.state === STRING) return this.field ? `inside ${this.label}` : "inside a string";
    if (this.state === NUMBER || this.state === LITERAL) return "inside a value";
    return this.state === ROOT
      ? "before the JSON object began"
      : `${this.stack.length} unclosed bracket${this.stack.length === 1 ? "" : "s"}`;
  }
}
