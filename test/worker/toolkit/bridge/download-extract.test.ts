import { describe, expect, it } from "vitest";
import { Base64Error } from "../../../../src/toolkit/bridge/base64";
import { extractBase64Field } from "../../../../src/toolkit/bridge/download-extract";
import { JsonStreamError } from "../../../../src/toolkit/bridge/json-stream";
import { expectExtraction, expected, extract, extractionError } from "./extract-support";
import {
  ascii,
  collect,
  randomBytes,
  referenceBase64,
  seededRandom,
  splitEvery,
  splitRandomly,
  streamOf,
  text,
} from "./support";

// Bytes whose base64 holds "+" and "/"; the answer escapes every "/" as "\/" (as some JSON
// encoders do) and writes the first digit as a \u escape.
const MODEL = Uint8Array.of(0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83, 0xff, 0xfe);
const MODEL_BASE64 = referenceBase64(MODEL);
const ESCAPED_BASE64 = `\\u00${MODEL_BASE64.charCodeAt(0).toString(16)}${MODEL_BASE64.slice(1).replace(/\//g, "\\/")}`;
const SMALL =
  ` {"success" : true ,"result":{"status":"success","model":"lo\\"ra é😀\\u00e9\\ud83d\\ude00",` +
  (`"data" ` +
    `:"${ESCAPED_BASE64}","size":8,"list":[1,-2.5e3,0.125E+2,null,false,{"x":"\\n\\/\\\\\\b\\f\\r\\t"}],"none":{ ` +
    `},"empty":[]},`) +
  `\r\n\t"error":null}\n`;
const SMALL_BYTES = ascii(SMALL);

describe("extractBase64Field: a well-formed answer", () => {
  it("sanity: the small answer is what the tests think it is", () => {
    expect(MODEL_BASE64).toMatch(/\+/);
    expect(MODEL_BASE64).toMatch(/\//);
    const want = expected(SMALL);
    expect([...want.bytes]).toEqual([...MODEL]);
    expect(want.envelope).toEqual({
      success: true,
      result: {
        status: "success",
        model: 'lo"ra é😀é😀',
        size: 8,
        list: [1, -2500, 12.5, null, false, { x: "\n/\\\b\f\r\t" }],
        none: {},
        empty: [],
      },
      error: null,
    });
  });

  it("extracts the small answer in one chunk and in 1-byte chunks", async () => {
    expectExtraction(await extract([SMALL_BYTES]), expected(SMALL));
    expectExtraction(await extract(splitEvery(SMALL_BYTES, 1)), expected(SMALL));
  });

  it("extracts the small answer split in two at every position", async () => {
    const want = expected(SMALL);
    for (let k = 0; k <= SMALL_BYTES.length; k++) {
      const got = await extract([SMALL_BYTES.subarray(0, k), SMALL_BYTES.subarray(k)]);
      expectExtraction(got, want);
    }
  });

  it("extracts the small answer split in three at every pair of positions", async () => {
    const want = expected(SMALL);
    const n = SMALL_BYTES.length;
    for (let a = 1; a < n; a++) {
      for (let b = a + 1; b < n; b += 1) {
        const got = await extract([SMALL_BYTES.subarray(0, a), SMALL_BYTES.subarray(a, b), SMALL_BYTES.subarray(b)]);
        expectExtraction(got, want);
      }
    }
  }, 60_000);

  it("accepts whitespace wherever JSON allows it", async () => {
    const data = referenceBase64(randomBytes(seededRandom(41), 100));
    const answer = {
      success: true,
      result: { status: "success", model: "m", data, size: 100, nested: { a: [1, { b: null }] } },
      error: null,
    };
    for (const json of [
      JSON.stringify(answer, null, 2),
      JSON.stringify(answer, null, "\t").replace(/\n/g, "\r\n"),
      ` \n${JSON.stringify(answer)}\t\r\n `,
    ]) {
      expectExtraction(await extract(splitRandomly(ascii(json), seededRandom(42), 7)), expected(json));
    }
  });

  it("finds the field whatever the order of the keys", async () => {
    const data = referenceBase64(randomBytes(seededRandom(43), 40));
    const resultFields = [`"status":"success"`, `"model":"m"`, `"data":"${data}"`, `"size":40`];
    const topFields = (result: string): string[] => [`"success":true`, `"result":${result}`, `"error":null`];
    let cases = 0;
    for (const resultOrder of permutations(resultFields)) {
      for (const topOrder of permutations(topFields(`{${resultOrder.join(",")}}`))) {
        const json = `{${topOrder.join(",")}}`;
        const got = await extract(splitRandomly(ascii(json), seededRandom(cases), 9));
        expectExtraction(got, expected(json));
        expect(got.bytes.length).toBe(40);
        cases++;
      }
    }
    expect(cases).toBe(24 * 6);
  });

  it("ends data empty and resolves the envelope for success:false", async () => {
    const json = `{"success": false, "result": null, "error": "Unknown tool: download_modle"}`;
    const got = await extract([ascii(json)]);
    expect(got.bytes.length).toBe(0);
    expect(got.envelope).toStrictEqual({ success: false, result: null, error: "Unknown tool: download_modle" });
  });

  it("resolves the envelope of an answer without the field even if data is never read", async () => {
    const { envelope, data } = extractBase64Field(streamOf([ascii(`{"success":false,"result":null,"error":""}`)]));
    expect(await envelope).toStrictEqual({ success: false, result: null, error: "" });
    expect((await collect(data)).length).toBe(0);
  });

  it("accepts an empty object", async () => {
    const got = await extract([ascii(" {} ")]);
    expect(got.bytes.length).toBe(0);
    expect(got.envelope).toStrictEqual({});
  });

  it("passes an in-band error result through", async () => {
    const json = `{"success":true,"result":{"error":"Model not found"},"error":null}`;
    const got = await extract(splitEvery(ascii(json), 3));
    expect(got.bytes.length).toBe(0);
    expect(got.envelope).toStrictEqual({ success: true, result: { error: "Model not found" }, error: null });
  });

  it("keeps a field at the path that is not a string, and a data key elsewhere", async () => {
    for (const json of [
      `{"success":true,"result":{"status":"error","data":null,"message":"x"}}`,
      `{"result":{"data":{"nested":"QUJD"}}}`,
      `{"data":"QUJD","result":{"other":{"data":"QUJD"}}}`,
      `{"result":[{"data":"QUJD"}]}`,
    ]) {
      const got = await extract([ascii(json)]);
      expect(got.bytes.length).toBe(0);
      expect(got.envelope).toStrictEqual(JSON.parse(json));
    }
  });

  it("extracts at any field path", async () => {
    const json = `{"data":"QUJD","a":{"b":{"c":"REVG","d":1}},"c":"R0hJ"}`;
    expectExtraction(await extract([ascii(json)], ["data"]), expected(json, ["data"]));
    expectExtraction(await extract(splitEvery(ascii(json), 2), ["a", "b", "c"]), expected(json, ["a", "b", "c"]));
    expect(() => extractBase64Field(streamOf([]), [])).toThrow(TypeError);
  });

  it("decodes an empty data string and keeps keys like __proto__ as plain properties", async () => {
    const json = `{"__proto__":{"polluted":true},"result":{"data":"","size":0}}`;
    const got = await extract([ascii(json)]);
    expect(got.bytes.length).toBe(0);
    expect(Object.getPrototypeOf(got.envelope)).toBe(Object.prototype);
    expect(Object.keys(got.envelope)).toEqual(["__proto__", "result"]);
    expect(got.envelope.result).toStrictEqual({ size: 0 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("copies what it keeps, so an input that reuses its buffer does not corrupt the envelope", async () => {
    const json = ascii(`{"error":"Model not found","result":{"data":"QUJDREVG","status":"fine"}}`);
    const chunks = splitEvery(json, 5);
    const shared = new Uint8Array(5);
    let index = 0;
    const input = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const chunk = chunks[index++];
          if (!chunk) return controller.close();
          shared.fill(0x58);
          shared.set(chunk);
          controller.enqueue(shared.subarray(0, chunk.length));
        },
      },
      { highWaterMark: 0 },
    );
    const { data, envelope } = extractBase64Field(input);
    const [bytes, env] = await Promise.all([collect(data), envelope]);
    expect(text(bytes)).toBe("ABCDEF");
    expect(env).toStrictEqual({ error: "Model not found", result: { status: "fine" } });
  });

  it("decodes a base64 string with whitespace escapes in it (line-wrapped encoders)", async () => {
    const bytes = randomBytes(seededRandom(44), 300);
    const wrapped = referenceBase64(bytes).replace(/.{76}/g, "$&\\n");
    const got = await extract(splitEvery(ascii(`{"result":{"data":"${wrapped}"}}`), 5));
    expect([...got.bytes]).toEqual([...bytes]);
  });
});

describe("extractBase64Field: a broken answer", () => {
  it("rejects both with 'cut off after N bytes' wherever the answer is truncated", async () => {
    const end = SMALL_BYTES.lastIndexOf(0x7d) + 1;
    for (let cut = 1; cut < end; cut++) {
      const error = await extractionError(splitEvery(SMALL_BYTES.subarray(0, cut), 4));
      expect(error).toBeInstanceOf(JsonStreamError);
      expect(error.message).toMatch(new RegExp(`^the toolkit's answer was cut off after ${cut} bytes \\(.+\\)$`));
    }
    // Cut after the closing brace, only whitespace is missing: nothing is lost.
    expectExtraction(await extract([SMALL_BYTES.subarray(0, end)]), expected(SMALL));
  });

  it("says where the answer was cut off", async () => {
    const cases: Array<[string, string]> = [
      [``, "the toolkit's answer was empty"],
      [`  `, "the toolkit's answer was cut off after 2 bytes (before the JSON object began)"],
      [`{"result":{"data":"QUJD`, "the toolkit's answer was cut off after 23 bytes (inside result.data)"],
      [`{"error":"Mod`, "the toolkit's answer was cut off after 13 bytes (inside a string)"],
      [`{"size":12`, "the toolkit's answer was cut off after 10 bytes (inside a value)"],
      [`{"result":{"size":12}`, "the toolkit's answer was cut off after 21 bytes (1 unclosed bracket)"],
      [`{"a":[{"b":1},`, "the toolkit's answer was cut off after 14 bytes (2 unclosed brackets)"],
    ];
    for (const [json, message] of cases) {
      const error = await extractionError(json ? [ascii(json)] : []);
      expect(error).toBeInstanceOf(JsonStreamError);
      expect(error.message).toBe(message);
    }
  });

  it("rejects malformed JSON naming the character and its byte offset", async () => {
    const cases: Array<[string, string]> = [
      [`[1]`, "unexpected character '[' at byte 0 of the toolkit's answer (expected a JSON object)"],
      [`{"a":1,}`, "unexpected character '}' at byte 7 of the toolkit's answer (expected a key in double quotes)"],
      [`{,}`, "unexpected character ',' at byte 1 of the toolkit's answer (expected a key or '}')"],
      [`{"a" 1}`, "unexpected character '1' at byte 5 of the toolkit's answer (expected ':')"],
      [`{"a":]`, "unexpected character ']' at byte 5 of the toolkit's answer (expected a value)"],
      [`{"a":+1}`, "unexpected character '+' at byte 5 of the toolkit's answer (expected a value)"],
      [`{"a":[1 2]}`, "unexpected character '2' at byte 8 of the toolkit's answer (expected ',' or ']')"],
      [`{"a":1 "b":2}`, "unexpected character '\"' at byte 7 of the toolkit's answer (expected ',' or '}')"],
      [`{"a":[1,]}`, "unexpected character ']' at byte 8 of the toolkit's answer (expected a value)"],
      [`{"a":tru}`, "unexpected character '}' at byte 8 of the toolkit's answer (expected 'true')"],
      [`{"a":t rue}`, "unexpected character ' ' at byte 6 of the toolkit's answer (expected 'true')"],
      [`{"a":nul1}`, "unexpected character '1' at byte 8 of the toolkit's answer (expected 'null')"],
      [
        `{"a":1}x`,
        "unexpected character 'x' at byte 7 of the toolkit's answer (expected nothing after the end of the answer)",
      ],
      [
        `{"a":1}{}`,
        "unexpected character '{' at byte 7 of the toolkit's answer (expected nothing after the end of the answer)",
      ],
      [
        `{"a":"x\ny"}`,
        "unexpected byte 0x0a at byte 7 of the toolkit's answer (expected no raw control characters inside a string)",
      ],
      [
        `{"a\ty":1}`,
        "unexpected byte 0x09 at byte 3 of the toolkit's answer (expected no raw control characters inside a string)",
      ],
      [
        `{"a":"\\x"}`,
        `unexpected character 'x' at byte 7 of the toolkit's answer (expected an escape ("\\n", "\\u00e9", ` +
          `...) after "\\")`,
      ],
      [
        `{"a":"\\u12G4"}`,
        `unexpected character 'G' at byte 10 of the toolkit's answer (expected a hex digit in a "\\u" escape)`,
      ],
      [`{"a":01}`, "malformed number '01' at byte 5"],
      [`{"a":-}`, "malformed number '-' at byte 5"],
      [`{"a":1.}`, "malformed number '1.' at byte 5"],
      [`{"a":1e+}`, "malformed number '1e+' at byte 5"],
      [`{"a":1-2}`, "malformed number '1-2' at byte 5"],
      [`{"result":{"data":"QUJD","data":"QUJD"}}`, "result.data appears twice in the toolkit's answer (byte 32)"],
      [
        `{"result":{"data":"QU\nJD"}}`,
        "unexpected byte 0x0a at byte 21 of the toolkit's answer (expected no raw control characters inside a string)",
      ],
    ];
    for (const [json, message] of cases) {
      for (const chunks of [[ascii(json)], splitEvery(ascii(json), 1)]) {
        const error = await extractionError(chunks);
        expect(error).toBeInstanceOf(JsonStreamError);
        expect([json, error.message]).toEqual([json, message]);
        expect(error.message).toContain(`byte ${(error as JsonStreamError).offset}`);
      }
    }
  });

  it("errors data and envelope with a Base64Error for corrupt base64", async () => {
    const good = referenceBase64(randomBytes(seededRandom(45), 3000));
    const cases: Array<[string, RegExp]> = [
      [
        `${good.slice(0, 2000)}!${good.slice(2001)}`,
        /^invalid result\.data at offset 2000: invalid character '!' \(0x21\)$/,
      ],
      [`${good.slice(0, 2000)}-${good.slice(2001)}`, /^invalid result\.data at offset 2000: invalid character '-'/],
      [
        `${good}QUI`,
        /^invalid result\.data at offset 4003: it ends inside a 4-character group \(3 characters left over\)/,
      ],
      [`QUI=QUJD`, /^invalid result\.data at offset 4: 'Q' \(0x51\) after the closing "=" padding$/],
      [`QUJD\\u00e9AAA`, /^invalid result\.data at offset 4: non-ASCII byte 0xc3$/],
      [`QUJDé`, /^invalid result\.data at offset 4: non-ASCII byte 0xc3$/],
    ];
    for (const [data, message] of cases) {
      const json = `{"success":true,"result":{"status":"success","data":"${data}","size":3000},"error":null}`;
      for (const chunks of [[ascii(json)], splitRandomly(ascii(json), seededRandom(46), 50)]) {
        const error = await extractionError(chunks);
        expect(error).toBeInstanceOf(Base64Error);
        expect(error.message).toMatch(message);
      }
    }
  });

  it("caps the strings and values it keeps", async () => {
    const big = "x".repeat(1024 * 1024);
    const fits = await extract([ascii(`{"error":"${big}"}`)]);
    expect(fits.envelope.error).toBe(big);

    const tooLong = await extractionError(splitEvery(ascii(`{"error":"${big}x"}`), 4096));
    expect(tooLong.message).toMatch(
      /^the toolkit's answer holds a string longer than 1048576 bytes \(at byte \d+\); refusing to keep it in memory$/,
    );

    const small = (json: string, limits: Parameters<typeof extractBase64Field>[2]) => {
      const { data, envelope } = extractBase64Field(streamOf([ascii(json)]), undefined, limits);
      return Promise.all([collect(data), envelope]);
    };
    await expect(small(`{"a":"0123456789","b":"x"}`, { maxStringBytes: 10 })).resolves.toBeDefined();
    await expect(small(`{"a":"0123456789a"}`, { maxStringBytes: 10 })).rejects.toThrow(
      "a string longer than 10 bytes (at byte 5)",
    );
    await expect(small(`{"abcdefghijk":1}`, { maxStringBytes: 10 })).rejects.toThrow("a string longer than 10 bytes");
    await expect(small(`{"a":[1,2,3,4,5,6,7,8,9]}`, { maxValues: 10 })).resolves.toBeDefined();
    await expect(small(`{"a":[1,2,3,4,5,6,7,8,9,10]}`, { maxValues: 10 })).rejects.toThrow(
      "the toolkit's answer holds more than 10 values besides result.data (at byte 24)",
    );
    await expect(small(`{"a":[[[[[[[[[[[]]]]]]]]]]]}`, { maxValues: 10 })).rejects.toThrow(JsonStreamError);
    await expect(small(`{"ab":"cd","ef":"gh"}`, { maxEnvelopeBytes: 7 })).rejects.toThrow(
      "more than 7 bytes of fields besides result.data",
    );
    await expect(small(`{"a":${"1".repeat(513)}}`, {})).rejects.toThrow("a number longer than 512 characters");
    // The extracted field itself is never capped.
    const { data } = extractBase64Field(streamOf([ascii(`{"result":{"data":"${"QUJD".repeat(100)}"}}`)]), undefined, {
      maxStringBytes: 10,
    });
    expect((await collect(data)).length).toBe(300);
  });
});

function* permutations<T>(items: readonly T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield [...items];
    return;
  }
  for (let i = 0; i < items.length; i++) {
    const rest = [...items.slice(0, i), ...items.slice(i + 1)];
    for (const tail of permutations(rest)) yield [items[i] as T, ...tail];
  }
}
