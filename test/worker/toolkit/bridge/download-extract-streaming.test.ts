import { describe, expect, it } from "vitest";
import { extractBase64Field } from "../../../../src/toolkit/bridge/download-extract";
import { concatBytes as concat } from "../../../../src/common";
import { JsonStreamError } from "../../../../src/toolkit/bridge/json-stream";
import { expectExtraction, expected, extract } from "./extract-support";
import {
  ascii,
  expectSameBytes,
  randomBytes,
  randomInt,
  referenceBase64,
  seededRandom,
  splitEvery,
  splitRandomly,
  streamOf,
} from "./support";

const MB = 1024 * 1024;
const tick = (ms = 20) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function answer(base64: string, dataFirst: boolean): string {
  const data = `"data":"${base64}"`;
  const size = (base64.length / 4) * 3 - (base64.match(/=*$/)?.[0].length ?? 0);
  const rest = `"status":"success","model":"my_lora","size":${size}`;
  return dataFirst
    ? `{"result":{${data},${rest}},"success":true,"error":null}`
    : `{"success":true,"error":null,"result":{${rest},${data}}}`;
}

/** A sink that takes its time with each chunk, like a network upload. */
function slowSink(received: Uint8Array[]): WritableStream<Uint8Array> {
  let writes = 0;
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      received.push(chunk);
      if (++writes % 16 === 0) await tick(1);
    },
  });
}

describe("extractBase64Field: streaming", () => {
  it.each([
    [51, true],
    [52, false],
  ])(
    "streams a multi-megabyte model to a slow consumer (seed %i, data first: %s)",
    async (seed, dataFirst) => {
      const random = seededRandom(seed);
      const model = randomBytes(random, randomInt(random, 4 * MB, 6 * MB));
      const json = answer(referenceBase64(model), dataFirst);
      const { data, envelope } = extractBase64Field(streamOf(splitRandomly(ascii(json), random, 64 * 1024)));
      const received: Uint8Array[] = [];
      const [, env] = await Promise.all([data.pipeTo(slowSink(received)), envelope]);
      expect(env).toStrictEqual(expected(json).envelope);
      expectSameBytes(concat(received), model);
    },
    60_000,
  );

  it("decodes a megabyte model whose every '/' is escaped, in awkward chunks", async () => {
    const random = seededRandom(53);
    const model = randomBytes(random, MB + 2);
    const json = answer(referenceBase64(model).replace(/\//g, "\\/"), false);
    expect(json).toContain("\\/");
    expectExtraction(await extract(splitRandomly(ascii(json), random, 333)), expected(json));
  });

  it("reads the answer only as fast as data is consumed", async () => {
    const model = randomBytes(seededRandom(54), 4 * MB);
    const json = ascii(answer(referenceBase64(model), true));
    const input = streamOf(splitEvery(json, 16 * 1024));
    const { data, envelope } = extractBase64Field(input);
    await tick();
    // Nothing read yet: the pump stops once about 256 KiB of decoded bytes are queued.
    const pulledWhileIdle = input.pulledBytes();
    expect(pulledWhileIdle).toBeGreaterThan(256 * 1024);
    expect(pulledWhileIdle).toBeLessThan(512 * 1024);

    const reader = data.getReader();
    let got = 0;
    while (got < MB) {
      const next = await reader.read();
      if (next.done) throw new Error("data ended early");
      got += next.value.length;
    }
    await tick();
    expect(input.pulledBytes()).toBeLessThan(((got + 512 * 1024) * 4) / 3);

    const rest: Uint8Array[] = [];
    for (let next = await reader.read(); !next.done; next = await reader.read()) rest.push(next.value);
    expect(got + concat(rest).length).toBe(model.length);
    expect(input.pulledBytes()).toBe(json.length);
    expect((await envelope).result).toStrictEqual({ status: "success", model: "my_lora", size: model.length });
  });

  it("does not deadlock when the caller awaits the envelope before it starts piping data", async () => {
    for (const dataFirst of [true, false]) {
      const model = randomBytes(seededRandom(55), 2 * MB);
      const json = answer(referenceBase64(model), dataFirst);
      const { data, envelope } = extractBase64Field(streamOf(splitEvery(ascii(json), 8192)));
      const env = envelope.then((value) => value);
      await tick();
      const received: Uint8Array[] = [];
      await Promise.all([env, data.pipeTo(slowSink(received))]);
      expectSameBytes(concat(received), model);
    }
  });

  it("keeps data open until the whole answer has parsed, so a cut-off envelope still fails the download", async () => {
    const model = randomBytes(seededRandom(56), 300_000);
    const json = ascii(answer(referenceBase64(model), true));
    const cut = json.length - 10; // after the data string, inside `"error":null}`
    const { data, envelope } = extractBase64Field(streamOf(splitEvery(json.subarray(0, cut), 4096)));
    const reader = data.getReader();
    let got = 0;
    // Read as fast as possible: the stream must end in an error, never in a clean close,
    // although the data string itself was complete.
    const outcome = await (async () => {
      for (;;) {
        const next = await reader.read();
        if (next.done) return "closed";
        got += next.value.length;
      }
    })().catch((error: unknown) => error);
    expect(outcome).toBeInstanceOf(JsonStreamError);
    expect(got).toBeLessThanOrEqual(model.length);
    await expect(envelope).rejects.toThrow(`the toolkit's answer was cut off after ${cut} bytes`);
  });

  it("cancels the answer when data is cancelled, and rejects the envelope", async () => {
    const model = randomBytes(seededRandom(57), 2 * MB);
    const input = streamOf(splitEvery(ascii(answer(referenceBase64(model), true)), 8192));
    const { data, envelope } = extractBase64Field(input);
    const reader = data.getReader();
    expect((await reader.read()).done).toBe(false);
    await reader.cancel("user went away");
    expect(input.cancelledWith()).toBe("user went away");
    await expect(envelope).rejects.toThrow(
      "the model download was cancelled before the toolkit's answer was read to the end",
    );
    await tick();
    expect(input.pulledBytes()).toBeLessThan(MB);
  });

  it("cancels the answer when the destination fails, rejecting the envelope with its error", async () => {
    const model = randomBytes(seededRandom(58), MB);
    const input = streamOf(splitEvery(ascii(answer(referenceBase64(model), false)), 8192));
    const { data, envelope } = extractBase64Field(input);
    const failure = new Error("R2 put failed");
    let writes = 0;
    const sink = new WritableStream<Uint8Array>({
      write() {
        if (++writes === 3) throw failure;
      },
    });
    await expect(data.pipeTo(sink)).rejects.toBe(failure);
    await expect(envelope).rejects.toBe(failure);
    expect(input.cancelledWith()).toBe(failure);
  });

  it("passes on an error of the input stream to data and envelope", async () => {
    const failure = new Error("tunnel dropped");
    let sent = false;
    const input = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) {
          controller.error(failure);
          return;
        }
        sent = true;
        controller.enqueue(ascii(`{"result":{"data":"QUJD`));
      },
    });
    const { data, envelope } = extractBase64Field(input);
    const reader = data.getReader();
    expect([...((await reader.read()).value ?? [])]).toEqual([0x41, 0x42, 0x43]); // "QUJD" = "ABC"
    await expect(reader.read()).rejects.toBe(failure);
    await expect(envelope).rejects.toBe(failure);
  });
});
