import { describe, expect, it } from "vitest";
import {
  createUploadDatasetBody,
  uploadBodyLength,
  type UploadImageSource,
} from "../../../../src/toolkit/bridge/upload-body";
import { UploadBodyError } from "../../../../src/toolkit/errors";
import {
  collect,
  expectSameBytes,
  randomBytes,
  randomInt,
  referenceBase64,
  seededRandom,
  splitEvery,
  splitRandomly,
  streamOf,
  text,
} from "./support";

const MB = 1024 * 1024;
// Built at run time: a lone surrogate written literally in the source is not valid UTF-8.
const LONE_SURROGATE = String.fromCharCode(0xd800);

interface TestImage {
  filename: string;
  caption: string;
  bytes: Uint8Array;
}

/** Image sources over in-memory bytes that record when each one is opened and closed. */
function sources(images: readonly TestImage[], chunking: (bytes: Uint8Array) => Uint8Array[] = (b) => [b]) {
  const events: string[] = [];
  let open = 0;
  let maxOpen = 0;
  const list: UploadImageSource[] = images.map((image, k) => ({
    filename: image.filename,
    caption: image.caption,
    size: image.bytes.length,
    open: async () => {
      events.push(`open ${k}`);
      maxOpen = Math.max(maxOpen, ++open);
      const chunks = chunking(image.bytes);
      let index = 0;
      return new ReadableStream<Uint8Array>(
        {
          pull(controller) {
            const chunk = chunks[index++];
            if (chunk === undefined) {
              open--;
              events.push(`end ${k}`);
              controller.close();
            } else {
              controller.enqueue(chunk);
            }
          },
          cancel() {
            open--;
            events.push(`cancel ${k}`);
          },
        },
        { highWaterMark: 0 },
      );
    },
  }));
  return { list, events, maxOpen: () => maxOpen };
}

function expectedJson(datasetName: string, images: readonly TestImage[]): unknown {
  return {
    tool: "upload_dataset",
    arguments: {
      dataset_name: datasetName,
      images: images.map((image) => ({
        filename: image.filename,
        caption: image.caption,
        data: referenceBase64(image.bytes),
      })),
    },
  };
}

describe("createUploadDatasetBody", () => {
  it("produces exactly the expected bytes for a small dataset", async () => {
    const images = [
      { filename: "a.png", caption: "a cat", bytes: Uint8Array.of(1, 2, 3) },
      { filename: "b.jpg", caption: "", bytes: Uint8Array.of(255) },
    ];
    const { body, length } = createUploadDatasetBody("cats", sources(images).list);
    const produced = text(await collect(body));
    expect(produced).toBe(
      '{"tool":"upload_dataset","arguments":{"dataset_name":"cats","images":[' +
        '{"filename":"a.png","caption":"a cat","data":"AQID"},{"filename":"b.jpg","caption":"","data":"/w=="}]}}',
    );
    expect(length).toBe(produced.length);
  });

  it("produces a valid body with no images", async () => {
    const { body, length } = createUploadDatasetBody("empty", []);
    const produced = await collect(body);
    expect(text(produced)).toBe('{"tool":"upload_dataset","arguments":{"dataset_name":"empty","images":[]}}');
    expect(length).toBe(produced.length);
  });

  it("escapes names and captions: quotes, backslashes, control characters, unicode", async () => {
    const control = Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).join("");
    const images = [
      { filename: '../"quoted"\\back.png', caption: `line1\nline2\ttab ${control}`, bytes: Uint8Array.of(0) },
      {
        filename: "été_😀_\u2028\u2029.png",
        caption: `lone ${LONE_SURROGATE} surrogate, DEL \u007f`,
        bytes: Uint8Array.of(1, 2),
      },
    ];
    const name = 'ds "x" \\ é 😀 \u0000';
    const { body, length } = createUploadDatasetBody(name, sources(images).list);
    const bytes = await collect(body);
    expect(length).toBe(bytes.length);
    // The lone surrogate travels as an escape, so the text stays valid UTF-8 and parses back.
    expect(text(bytes)).toContain("lone \\ud800 surrogate");
    // Compared as JSON text: a failing diff holding a lone surrogate could not be reported.
    expect(JSON.stringify(JSON.parse(text(bytes)))).toBe(JSON.stringify(expectedJson(name, images)));
    expect(text(bytes)).not.toMatch(/[\u0000-\u001f]/);
  });

  it("matches JSON.parse and its declared length for image sizes 0..20 in any chunking", async () => {
    const random = seededRandom(61);
    const images = Array.from({ length: 21 }, (_, n) => ({
      filename: `${n}.png`,
      caption: `size ${n}`,
      bytes: randomBytes(random, n),
    }));
    for (const chunking of [
      (b: Uint8Array) => [b],
      (b: Uint8Array) => splitEvery(b, 1),
      (b: Uint8Array) => splitRandomly(b, random, 4),
    ]) {
      const { body, length } = createUploadDatasetBody("sizes", sources(images, chunking).list);
      const bytes = await collect(body);
      expect(length).toBe(bytes.length);
      expect(JSON.parse(text(bytes))).toStrictEqual(expectedJson("sizes", images));
    }
  });

  it("encodes megabyte images byte-exactly", async () => {
    const random = seededRandom(62);
    const images = Array.from({ length: 3 }, (_, k) => ({
      filename: `big_${k}.png`,
      caption: `big ${k}`,
      bytes: randomBytes(random, randomInt(random, MB, 2 * MB)),
    }));
    const { body, length } = createUploadDatasetBody(
      "big",
      sources(images, (b) => splitRandomly(b, random, 100_000)).list,
    );
    const bytes = await collect(body);
    expect(length).toBe(bytes.length);
    const parsed = JSON.parse(text(bytes)) as { arguments: { images: Array<{ data: string }> } };
    parsed.arguments.images.forEach((image, k) => expect(image.data === referenceBase64(images[k]!.bytes)).toBe(true));
  });

  it("opens images lazily, one at a time, in order", async () => {
    const random = seededRandom(63);
    const images = Array.from({ length: 4 }, (_, k) => ({
      filename: `${k}.png`,
      caption: "",
      bytes: randomBytes(random, 1000),
    }));
    const src = sources(images, (b) => splitEvery(b, 100));
    const { body } = createUploadDatasetBody("lazy", src.list);
    const reader = body.getReader();
    await reader.read(); // the head only
    expect(src.events).toEqual([]);
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      /* drain */
    }
    expect(src.events).toEqual(["open 0", "end 0", "open 1", "end 1", "open 2", "end 2", "open 3", "end 3"]);
    expect(src.maxOpen()).toBe(1);
  });

  it("reads an image only as fast as the body is consumed", async () => {
    const image = randomBytes(seededRandom(64), 4 * MB);
    const input = streamOf(splitEvery(image, 64 * 1024));
    const { body } = createUploadDatasetBody("slow", [
      { filename: "x.png", caption: "", size: image.length, open: async () => input },
    ]);
    const reader = body.getReader();
    for (let i = 0; i < 5; i++) await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(input.pulledBytes()).toBeLessThanOrEqual(5 * 64 * 1024);
    await reader.cancel("enough");
    expect(input.cancelledWith()).toBe("enough");
  });

  it("errors the body when an image has more bytes than declared, and stops reading it", async () => {
    const src = sources([
      { filename: "ok.png", caption: "", bytes: Uint8Array.of(1, 2, 3) },
      { filename: "grew.png", caption: "", bytes: new Uint8Array(10) },
    ]);
    const list = src.list.map((image, k) => (k === 1 ? { ...image, size: 7 } : image));
    const { body } = createUploadDatasetBody("d", list);
    const error = await collect(body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadBodyError);
    expect((error as Error).message).toBe(
      'image "grew.png" (2 of 2) has more bytes than its declared size of 7: the staged file changed since ' +
        "it was measured; upload it again",
    );
    expect(src.events).toEqual(["open 0", "end 0", "open 1", "cancel 1"]);
  });

  it("errors the body when an image has fewer bytes than declared", async () => {
    const src = sources([{ filename: "short.png", caption: "", bytes: new Uint8Array(5) }], (b) => splitEvery(b, 2));
    const list = src.list.map((image) => ({ ...image, size: 6 }));
    const { body, length } = createUploadDatasetBody("d", list);
    expect(length).toBe(uploadBodyLength("d", list));
    const error = await collect(body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadBodyError);
    expect((error as Error).message).toBe(
      'image "short.png" (1 of 1) ended after 5 bytes but its declared size is 6: the staged file is ' +
        "incomplete; upload it again",
    );
  });

  it("errors the body with the image's own error when opening or reading fails", async () => {
    const failure = new Error("R2 object missing");
    const { body } = createUploadDatasetBody("d", [
      { filename: "x", caption: "", size: 1, open: () => Promise.reject(failure) },
    ]);
    await expect(collect(body)).rejects.toBe(failure);
  });

  it("rejects sizes that are not byte counts", () => {
    for (const size of [-1, 1.5, Number.NaN]) {
      expect(() =>
        createUploadDatasetBody("d", [{ filename: "x.png", caption: "", size, open: async () => streamOf([]) }]),
      ).toThrow(`image "x.png" (1 of 1) has an invalid size: ${size}`);
    }
  });

  it("round-trips a single binary image through the body byte-exactly", async () => {
    const bytes = randomBytes(seededRandom(66), 70_000);
    const { body } = createUploadDatasetBody(
      "one",
      sources([{ filename: "f", caption: "c", bytes }], (b) => splitEvery(b, 7)).list,
    );
    const produced = await collect(body);
    const expectedText =
      `{"tool":"upload_dataset","arguments":{"dataset_name":"one",` +
      `"images":[{"filename":"f","caption":"c","data":"${referenceBase64(bytes)}"}]}}`;
    expectSameBytes(produced, new TextEncoder().encode(expectedText));
  });
});

describe("uploadBodyLength", () => {
  it("equals the length of the produced body without opening anything", async () => {
    const random = seededRandom(65);
    for (let trial = 0; trial < 20; trial++) {
      const images = Array.from({ length: randomInt(random, 0, 5) }, (_, k) => ({
        filename: `${k}_é😀"\\.png`,
        caption: "x".repeat(randomInt(random, 0, 30)) + "\n",
        bytes: randomBytes(random, randomInt(random, 0, 50)),
      }));
      const infos = images.map((image) => ({
        filename: image.filename,
        caption: image.caption,
        size: image.bytes.length,
      }));
      const predicted = uploadBodyLength("dataset ü", infos);
      const bytes = await collect(createUploadDatasetBody("dataset ü", sources(images).list).body);
      expect(predicted).toBe(bytes.length);
    }
  });

  it("counts UTF-8 bytes, not characters", () => {
    const base = uploadBodyLength("a", [{ filename: "a", caption: "a", size: 0 }]);
    expect(uploadBodyLength("é", [{ filename: "😀", caption: "\n", size: 0 }])).toBe(base + 1 + 3 + 1);
    expect(uploadBodyLength("a", [{ filename: "a", caption: "a", size: 1 }])).toBe(base + 4);
    expect(uploadBodyLength("a", [{ filename: "a", caption: "a", size: 3 }])).toBe(base + 4);
    expect(uploadBodyLength("a", [{ filename: "a", caption: "a", size: 4 }])).toBe(base + 8);
  });
});
