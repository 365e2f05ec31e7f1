import { env } from "cloudflare:workers";
import { concatBytes } from "../../../src/common";
import { describe, expect, it } from "vitest";
import { PartWriter, R2_MIN_PART_BYTES, uploadStream } from "../../../src/r2/multipart";

const PART = R2_MIN_PART_BYTES;

/** Bytes whose value says where they are, so a misplaced byte shows. */
function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/** Cuts `bytes` into chunks of the given sizes, repeating the last size until the end. */
function chunked(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  let i = 0;
  while (at < bytes.byteLength) {
    const size = sizes[Math.min(i++, sizes.length - 1)] ?? 1;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Byte-for-byte equality without vitest's element-wise diff, which big arrays exhaust memory with. */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A writer that keeps what it is sent. */
function recording(partBytes = PART, options: { firstPart?: number; tail?: Uint8Array } = {}) {
  const sent: Array<{ n: number; bytes: Uint8Array }> = [];
  const writer = new PartWriter(
    partBytes,
    async (n, bytes) => {
      sent.push({ n, bytes: bytes.slice() });
    },
    options,
  );
  return { writer, sent };
}

describe("PartWriter", () => {
  it("refuses parts smaller than R2's 5 MiB minimum", () => {
    expect(R2_MIN_PART_BYTES).toBe(5 * 1024 * 1024);
    expect(() => new PartWriter(PART - 1, async () => {})).toThrow(RangeError);
    expect(() => new PartWriter(PART, async () => {})).not.toThrow();
  });

  const file = pattern(3 * PART + 12_345);
  const cases: Array<[string, number[]]> = [
    ["1-byte chunks across a part boundary", [PART - 3, 1, 1, 1, 1, 1, 1, 1, 1, PART]],
    ["small odd chunks", [65_537]],
    ["chunks one byte short of a part", [PART - 1]],
    ["chunks of exactly one part", [PART]],
    ["chunks one byte over a part", [PART + 1]],
    ["one chunk of several parts", [file.byteLength]],
  ];
  for (const [what, sizes] of cases) {
    it(`sends equal parts and a short last one from ${what}`, async () => {
      const { writer, sent } = recording();
      for (const chunk of chunked(file, sizes)) await writer.write(chunk);
      expect(sent.map((p) => p.n)).toEqual([1, 2, 3]);
      expect(sent.every((p) => p.bytes.byteLength === PART)).toBe(true);
      expect(writer.tail.byteLength).toBe(12_345);
      await writer.finish();
      expect(sent.map((p) => [p.n, p.bytes.byteLength])).toEqual([
        [1, PART],
        [2, PART],
        [3, PART],
        [4, 12_345],
      ]);
      expect(same(concatBytes(sent.map((p) => p.bytes)), file)).toBe(true);
      expect(writer.partsSent).toBe(4);
    });
  }

  it("sends nothing more at the end when the bytes fill whole parts", async () => {
    const { writer, sent } = recording();
    await writer.write(pattern(2 * PART));
    await writer.finish();
    expect(sent.map((p) => p.bytes.byteLength)).toEqual([PART, PART]);
    expect(writer.tail.byteLength).toBe(0);
  });

  it("starts at a given part number with an earlier tail, and hands back the new tail", async () => {
    const bytes = pattern(PART + 100);
    const { writer, sent } = recording(PART, { firstPart: 4, tail: bytes.subarray(0, 40) });
    expect(same(writer.tail, bytes.subarray(0, 40))).toBe(true);
    await writer.write(bytes.subarray(40));
    expect(sent.map((p) => p.n)).toEqual([4]);
    expect(same(sent[0]?.bytes, bytes.subarray(0, PART))).toBe(true);
    expect(same(writer.tail, bytes.subarray(PART))).toBe(true);
    expect(writer.nextPart).toBe(5);
    expect(writer.partsSent).toBe(1);
  });

  it("refuses a tail that would fill a part on its own", () => {
    expect(() => new PartWriter(PART, async () => {}, { tail: new Uint8Array(PART) })).toThrow(RangeError);
  });

  it("passes on a failure to send, with the bytes not taken after it", async () => {
    const writer = new PartWriter(PART, async (n) => {
      if (n === 2) throw new Error("part 2 failed");
    });
    await expect(writer.write(pattern(3 * PART))).rejects.toThrow("part 2 failed");
    expect(writer.nextPart).toBe(3);
  });
});

describe("uploadStream", () => {
  function streamOf(chunks: Uint8Array[], failAfter?: number): ReadableStream<Uint8Array> {
    let i = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (failAfter !== undefined && i === failAfter) return controller.error(new Error("the source broke off"));
        const chunk = chunks[i++];
        if (chunk) controller.enqueue(chunk);
        else controller.close();
      },
    });
  }

  it("writes several parts into one object with its size, hash and head", async () => {
    const key = `test/multipart/${crypto.randomUUID()}`;
    const file = pattern(2 * PART + 777);
    const written = await uploadStream(env.STAGING, streamOf(chunked(file, [1_000_003])), {
      partBytes: PART,
      describe: () => ({ key, options: {} }),
    });
    expect(written.size).toBe(file.byteLength);
    expect(written.head.byteLength).toBe(PART);
    const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", file));
    expect(written.sha256).toBe([...hash].map((b) => b.toString(16).padStart(2, "0")).join(""));
    const stored = await env.STAGING.get(key);
    expect(same(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer()), file)).toBe(true);
  });

  it("aborts the upload when the source fails, leaving no object", async () => {
    const key = `test/multipart/${crypto.randomUUID()}`;
    const file = pattern(3 * PART);
    const upload = uploadStream(env.STAGING, streamOf(chunked(file, [PART / 2]), 4), {
      partBytes: PART,
      describe: () => ({ key, options: {} }),
    });
    await expect(upload).rejects.toThrow("the source broke off");
    expect(await env.STAGING.head(key)).toBeNull();
  });

  it("refuses the file when beforeComplete does, leaving no object", async () => {
    const key = `test/multipart/${crypto.randomUUID()}`;
    const upload = uploadStream(env.STAGING, streamOf([pattern(PART + 1)]), {
      partBytes: PART,
      describe: () => ({ key, options: {} }),
      beforeComplete: async () => {
        throw new Error("size mismatch");
      },
    });
    await expect(upload).rejects.toThrow("size mismatch");
    expect(await env.STAGING.head(key)).toBeNull();
  });
});
