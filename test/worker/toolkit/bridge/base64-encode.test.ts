import { describe, expect, it } from "vitest";
import {
  Base64Encoder,
  base64EncodedLength,
  createBase64EncodeStream,
  ENCODE_SLICE_BYTES,
} from "../../../../src/toolkit/bridge/base64";
import { concatBytes as concat } from "../../../../src/common";
import {
  ascii,
  collectChunks,
  expectSameBytes,
  pipeChunks,
  randomBytes,
  randomInt,
  referenceBase64,
  seededRandom,
  splitEvery,
  splitRandomly,
  text,
} from "./support";

describe("base64EncodedLength", () => {
  it("matches the padded length of btoa for 0..20 bytes and beyond", () => {
    for (const n of [...Array.from({ length: 21 }, (_, i) => i), 299, 300, 301, 1_000_000, 300 * 1024 * 1024 + 1]) {
      const expected = n <= 1_000_000 ? referenceBase64(new Uint8Array(n)).length : Math.ceil(n / 3) * 4;
      expect([n, base64EncodedLength(n)]).toEqual([n, expected]);
    }
    expect(base64EncodedLength(1)).toBe(4);
    expect(base64EncodedLength(3)).toBe(4);
    expect(base64EncodedLength(4)).toBe(8);
  });

  it("rejects what is not a byte count", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(() => base64EncodedLength(bad)).toThrow(RangeError);
    }
  });
});

describe("Base64Encoder", () => {
  it("encodes every size 0..20 exactly like btoa, whole and byte by byte", () => {
    const random = seededRandom(1);
    for (let n = 0; n <= 20; n++) {
      const bytes = randomBytes(random, n);
      const whole = new Base64Encoder();
      expect(text(concat([whole.push(bytes), whole.finish()]))).toBe(referenceBase64(bytes));

      const bytewise = new Base64Encoder();
      const parts = Array.from(bytes, (b) => bytewise.push(Uint8Array.of(b)));
      parts.push(bytewise.finish());
      expect(text(concat(parts))).toBe(referenceBase64(bytes));
    }
  });

  it("carries 1 and 2 leftover bytes between pushes", () => {
    const encoder = new Base64Encoder();
    expect(text(encoder.push(ascii("ab")))).toBe(""); // 2 carried
    expect(text(encoder.push(ascii("c")))).toBe("YWJj"); // "abc"
    expect(text(encoder.push(ascii("defg")))).toBe("ZGVm"); // "def", "g" carried
    expect(text(encoder.push(new Uint8Array(0)))).toBe("");
    expect(text(encoder.push(ascii("h")))).toBe(""); // "gh" carried
    expect(text(encoder.finish())).toBe("Z2g="); // "gh" padded
  });

  it("pads one leftover byte with two '='", () => {
    const encoder = new Base64Encoder();
    expect(text(encoder.push(ascii("abcd")))).toBe("YWJj");
    expect(text(encoder.finish())).toBe("ZA==");
  });

  it("refuses use after finish", () => {
    const encoder = new Base64Encoder();
    encoder.finish();
    expect(() => encoder.push(ascii("a"))).toThrow(/after finish/);
    expect(() => encoder.finish()).toThrow(/twice/);
  });

  it("covers all 256 byte values", () => {
    const bytes = Uint8Array.from({ length: 256 * 3 }, (_, i) => (i * 7) & 255);
    const encoder = new Base64Encoder();
    expect(text(concat([encoder.push(bytes), encoder.finish()]))).toBe(referenceBase64(bytes));
  });
});

describe("createBase64EncodeStream", () => {
  it("encodes sizes 0..20 that arrive in any chunking", async () => {
    const random = seededRandom(2);
    for (let n = 0; n <= 20; n++) {
      const bytes = randomBytes(random, n);
      for (const chunks of [[bytes], splitEvery(bytes, 1), splitEvery(bytes, 2), splitRandomly(bytes, random, 5)]) {
        const out = await pipeChunks(chunks, createBase64EncodeStream());
        expect(text(out)).toBe(referenceBase64(bytes));
      }
    }
  });

  it.each([11, 12, 13, 14])("encodes 1-3 MB of random bytes split at random (seed %i)", async (seed) => {
    const random = seededRandom(seed);
    const size = randomInt(random, 1_000_000, 3_000_000);
    const bytes = randomBytes(random, size);
    const chunks = splitRandomly(bytes, random, randomInt(random, 1, 200_000));
    const out = await pipeChunks(chunks, createBase64EncodeStream());
    expectSameBytes(out, ascii(referenceBase64(bytes)));
  });

  it("encodes 1-byte chunks", async () => {
    const bytes = randomBytes(seededRandom(3), 10_001);
    const out = await pipeChunks(splitEvery(bytes, 1), createBase64EncodeStream());
    expectSameBytes(out, ascii(referenceBase64(bytes)));
  });

  it("slices a huge input chunk into bounded output chunks", async () => {
    const bytes = randomBytes(seededRandom(4), 5 * ENCODE_SLICE_BYTES + 1);
    const transform = createBase64EncodeStream();
    const writer = transform.writable.getWriter();
    const collected = collectChunks(transform.readable);
    await writer.write(bytes);
    await writer.close();
    const chunks = await collected;
    expect(chunks.map((c) => c.length)).toEqual([65536, 65536, 65536, 65536, 65536, 4]);
    expectSameBytes(concat(chunks), ascii(referenceBase64(bytes)));
  });

  it("emits nothing for empty input", async () => {
    const chunks = await collectChunks(
      new ReadableStream<Uint8Array>({ start: (c) => c.close() }).pipeThrough(createBase64EncodeStream()),
    );
    expect(chunks).toEqual([]);
  });
});

// base64.ts and the signed links stand on these; a runtime without them must fail here first.
describe("the platform's own codecs", () => {
  it("encodes and decodes base64 whole", () => {
    expect(ascii("abcd").toBase64()).toBe("YWJjZA==");
    expect([...Uint8Array.fromBase64("YWJjZA==")]).toEqual([...ascii("abcd")]);
    expect(() => Uint8Array.fromBase64("YW!j")).toThrow(SyntaxError);
  });

  it("leaves an incomplete last group unread with stop-before-partial, for streaming", () => {
    const out = new Uint8Array(6);
    expect(out.setFromBase64("YWJj ZA", { lastChunkHandling: "stop-before-partial" })).toEqual({ read: 4, written: 3 });
    expect(out.setFromBase64("ZA=", { lastChunkHandling: "stop-before-partial" })).toEqual({ read: 0, written: 0 });
    expect(out.setFromBase64("ZA==\n", { lastChunkHandling: "stop-before-partial" })).toEqual({ read: 5, written: 1 });
  });

  it("encodes and decodes hex", () => {
    expect(Uint8Array.of(0, 15, 255).toHex()).toBe("000fff");
    expect([...Uint8Array.fromHex("000FfF")]).toEqual([0, 15, 255]);
    expect(() => Uint8Array.fromHex("abc")).toThrow(SyntaxError);
    expect(() => Uint8Array.fromHex("zz")).toThrow(SyntaxError);
  });
});
