import { describe, expect, it } from "vitest";
import { Base64Decoder, Base64Error, createBase64DecodeStream } from "../../../../src/toolkit/bridge/base64";
import { concatBytes as concat } from "../../../../src/common";
import {
  ascii,
  collect,
  expectSameBytes,
  pipeChunks,
  randomBytes,
  randomInt,
  referenceBase64,
  referenceDecode,
  seededRandom,
  splitEvery,
  splitRandomly,
  streamOf,
} from "./support";

/** Decodes `base64` delivered as `chunks` through the stream; returns the bytes. */
function decodeChunks(chunks: Uint8Array[]): Promise<Uint8Array> {
  return pipeChunks(chunks, createBase64DecodeStream());
}

/** Feeds `input` to a Base64Decoder in pieces of `step` characters; returns what it threw. */
function decoderError(input: string, step = input.length || 1): Base64Error {
  const decoder = new Base64Decoder();
  const bytes = ascii(input);
  try {
    for (let i = 0; i < bytes.length; i += step) decoder.push(bytes.subarray(i, i + step));
    decoder.finish();
  } catch (error) {
    expect(error).toBeInstanceOf(Base64Error);
    return error as Base64Error;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

describe("Base64Decoder", () => {
  it("decodes every size 0..20 exactly like atob, whole and character by character", () => {
    const random = seededRandom(21);
    for (let n = 0; n <= 20; n++) {
      const bytes = randomBytes(random, n);
      const encoded = ascii(referenceBase64(bytes));
      const whole = new Base64Decoder();
      expectSameBytes(concat([whole.push(encoded), whole.finish()]), bytes);

      const charwise = new Base64Decoder();
      const parts = Array.from(encoded, (c) => charwise.push(Uint8Array.of(c)));
      parts.push(charwise.finish());
      expectSameBytes(concat(parts), bytes);
    }
  });

  it("hands out each group's bytes as soon as the group is complete", () => {
    const decoder = new Base64Decoder();
    expect([...decoder.push(ascii("YW"))]).toEqual([]);
    expect([...decoder.push(ascii("JjZA"))]).toEqual([0x61, 0x62, 0x63]); // "YWJj" = "abc"
    expect([...decoder.push(ascii("="))]).toEqual([]); // "ZA=" waits for its second "="
    expect([...decoder.push(ascii("="))]).toEqual([0x64]); // "ZA==" = "d"
    expect([...decoder.finish()]).toEqual([]);
    expect(decoder.offset).toBe(8);
  });

  it("decodes all 64 digits and both padding forms", () => {
    const digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (const input of [digits, `${digits}QQ==`, `${digits}QUI=`]) {
      const decoder = new Base64Decoder();
      expectSameBytes(decoder.push(ascii(input)), referenceDecode(input));
    }
  });

  it("tolerates whitespace and line breaks anywhere, including inside groups and padding", () => {
    const bytes = randomBytes(seededRandom(22), 200);
    const encoded = referenceBase64(bytes);
    const wrapped = encoded.replace(/.{76}/g, "$&\r\n");
    const spaced = ` \t${encoded.split("").join(" ")}\n\f `;
    const paddingSplit = `${encoded.slice(0, -2)} ${encoded.slice(-2, -1)}\n${encoded.slice(-1)}\n`;
    for (const input of [wrapped, spaced, paddingSplit]) {
      const decoder = new Base64Decoder();
      expectSameBytes(concat([decoder.push(ascii(input)), decoder.finish()]), bytes);
    }
  });

  it("rejects an invalid character, naming it and its offset", () => {
    const error = decoderError("QUJD RE!G");
    expect(error.message).toBe("invalid base64 text at offset 7: invalid character '!' (0x21)");
    expect(error.offset).toBe(7);
  });

  it("reports the same offset whatever the chunking", () => {
    for (const step of [1, 2, 3, 5, 100]) {
      expect(decoderError("QUJDREVG\nQU*D", step).offset).toBe(11);
    }
  });

  it("rejects URL-safe digits, control bytes and non-ASCII", () => {
    expect(decoderError("QUJ-").message).toContain("invalid character '-' (0x2d)");
    expect(decoderError("QUJ_").message).toContain("invalid character '_' (0x5f)");
    expect(decoderError("QU\x00J").message).toContain("control byte 0x00");
    expect(decoderError("QUé=").message).toContain("non-ASCII byte 0xc3");
    expect(decoderError("QUé=").offset).toBe(2);
  });

  it("accepts '=' only as the last one or two characters of the final group", () => {
    expect(decoderError("=QUJ").message).toBe(
      'invalid base64 text at offset 0: "=" as character 1 of a 4-character group (only the 3rd and 4th may be "=")',
    );
    expect(decoderError("QUJDR===").message).toContain('"=" as character 2 of a 4-character group');
    expect(decoderError("QUJDR===").offset).toBe(5);
    expect(decoderError("QU=J").message).toBe("invalid base64 text at offset 3: 'J' (0x4a) after \"=\" padding");
    expect(decoderError("QU==QUJD").message).toBe(
      "invalid base64 text at offset 4: 'Q' (0x51) after the closing \"=\" padding",
    );
    expect(decoderError("QUI=\n=").message).toContain("'=' (0x3d) after the closing \"=\" padding");
    expect(decoderError("QUI=\n=").offset).toBe(5);
  });

  it("rejects text that does not end on a 4-character boundary", () => {
    for (const [input, left] of [
      ["Q", 1],
      ["QU", 2],
      ["QUJ", 3],
      ["QUJDR", 1],
      ["QU=", 3],
    ] as const) {
      const error = decoderError(input);
      expect(error.message).toBe(
        `invalid base64 text at offset ${input.length}: it ends inside a 4-character group ` +
          (`(${left} character${left === 1 ? "" : "s"} left over): a base64 length must be a multiple of 4, ` +
            `was the text cut off?`),
      );
    }
  });

  it("names the text with its label and stays failed", () => {
    const decoder = new Base64Decoder({ label: "result.data" });
    expect(() => decoder.push(ascii("QU#"))).toThrow("invalid result.data at offset 2: invalid character '#' (0x23)");
    expect(() => decoder.push(ascii("QUJD"))).toThrow(Base64Error);
    expect(() => decoder.finish()).toThrow(Base64Error);
  });
});

describe("createBase64DecodeStream", () => {
  it.each([31, 32, 33])("decodes 1-3 MB of random bytes split at random (seed %i)", async (seed) => {
    const random = seededRandom(seed);
    const bytes = randomBytes(random, randomInt(random, 1_000_000, 3_000_000));
    const encoded = ascii(referenceBase64(bytes));
    const out = await decodeChunks(splitRandomly(encoded, random, randomInt(random, 1, 150_000)));
    expectSameBytes(out, bytes);
  });

  it("decodes 1-character chunks", async () => {
    const bytes = randomBytes(seededRandom(34), 9_998);
    expectSameBytes(await decodeChunks(splitEvery(ascii(referenceBase64(bytes)), 1)), bytes);
  });

  it("decodes line-wrapped base64 in any chunking", async () => {
    const random = seededRandom(35);
    const bytes = randomBytes(random, 100_000);
    const wrapped = ascii(referenceBase64(bytes).replace(/.{64}/g, "$&\n"));
    expectSameBytes(await decodeChunks(splitRandomly(wrapped, random, 1000)), bytes);
  });

  it("decodes empty input to nothing", async () => {
    expect((await decodeChunks([])).length).toBe(0);
    expect((await decodeChunks([ascii(" \n")])).length).toBe(0);
  });

  it("errors the stream with a Base64Error on a bad character", async () => {
    const good = ascii(referenceBase64(randomBytes(seededRandom(36), 3000)));
    const bad = good.slice();
    bad[2500] = 0x2e; // "."
    const result = collect(streamOf(splitEvery(bad, 700)).pipeThrough(createBase64DecodeStream()));
    await expect(result).rejects.toThrow(Base64Error);
    await expect(result).rejects.toThrow("invalid base64 text at offset 2500: invalid character '.' (0x2e)");
  });

  it("errors the stream at the end when the text was cut off", async () => {
    const result = decodeChunks([ascii("QUJD"), ascii("QU")]);
    await expect(result).rejects.toThrow(/offset 6: it ends inside a 4-character group \(2 characters left over\)/);
  });

  it("uses the label it was given", async () => {
    await expect(pipeChunks([ascii("A?==")], createBase64DecodeStream({ label: "model.bin" }))).rejects.toThrow(
      "invalid model.bin at offset 1",
    );
  });
});
