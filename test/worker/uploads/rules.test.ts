import { describe, expect, it } from "vitest";
import { uploadBodyLength } from "../../../src/staging/codecs";
import { largestImageFor, planBatches } from "../../../src/staging/uploads/batches";
import { CaptionFileError, effectiveCaption, parseCaptionsCsv, parseCaptionsJson } from "../../../src/staging/uploads/captions";
import { sanitizeFilename, stemOf, uniqueName, uploadKind } from "../../../src/staging/uploads/names";
import { checkParts } from "../../../src/staging/uploads/parts";
import { R2_MIN_PART_BYTES as PART_MIN_BYTES } from "../../../src/staging/r2-rules";
import { newToken, sameHash, TOKEN_PATTERN } from "../../../src/staging/uploads/token";

describe("file names", () => {
  it("keep only the last path component and safe characters", () => {
    expect(sanitizeFilename("../../etc/passwd.png")).toBe("passwd.png");
    expect(sanitizeFilename("holiday\\IMG 0001 (copy).JPG")).toBe("IMG_0001_copy_.JPG");
    expect(sanitizeFilename("Café.png")).toBe("Cafe.png");
    expect(sanitizeFilename(".hidden.png")).toBe("hidden.png");
    expect(sanitizeFilename("../")).toBeUndefined();
    expect(sanitizeFilename("???")).toBeUndefined();
    const long = sanitizeFilename(`${"a".repeat(300)}.webp`);
    expect(long?.length).toBe(128);
    expect(long?.endsWith(".webp")).toBe(true);
  });

  it("are made unique with a counter", () => {
    const taken = new Set(["a.png", "a-2.png"]);
    expect(uniqueName("a.png", (n) => taken.has(n))).toBe("a-3.png");
    expect(uniqueName("b.png", (n) => taken.has(n))).toBe("b.png");
  });

  it("decide the kind of upload and pair captions by stem", () => {
    expect(uploadKind("x.PNG")).toBe("image");
    expect(uploadKind("x.webp")).toBe("image");
    expect(uploadKind("x.txt")).toBe("caption");
    expect(uploadKind("Captions.JSON")).toBe("captions-json");
    expect(uploadKind("captions.csv")).toBe("captions-csv");
    expect(uploadKind("set.zip")).toBe("zip");
    expect(uploadKind("x.gif")).toBeUndefined();
    expect(stemOf("Cat_01.PNG")).toBe(stemOf("cat_01.txt"));
  });
});

describe("caption lists", () => {
  it("read captions.json as an object or an array", () => {
    expect(parseCaptionsJson('{"a.png": "one", "sub/b.jpg": "two"}')).toEqual([
      { stem: "a", text: "one" },
      { stem: "b", text: "two" },
    ]);
    expect(parseCaptionsJson('[{"filename": "c.png", "caption": "three"}]')).toEqual([{ stem: "c", text: "three" }]);
    expect(() => parseCaptionsJson("{nope")).toThrow(CaptionFileError);
    expect(() => parseCaptionsJson('[{"filename": 1}]')).toThrow(/needs string fields/);
  });

  it("read captions.csv with quotes, commas, CRLF and an optional header", () => {
    const csv = 'filename,caption\r\na.png,"a cat, sitting"\r\nb.png,"say ""hi"""\n\n';
    expect(parseCaptionsCsv(csv)).toEqual([
      { stem: "a", text: "a cat, sitting" },
      { stem: "b", text: 'say "hi"' },
    ]);
    expect(() => parseCaptionsCsv("a.png,x,y\n")).toThrow(/exactly two columns/);
    expect(() => parseCaptionsCsv('a.png,"open\n')).toThrow(/closing/);
  });

  it("put the trigger word first unless the caption has it", () => {
    expect(effectiveCaption(undefined, "a photo", "sks")).toBe("sks, a photo");
    expect(effectiveCaption("photo of SKS dog", "", "sks")).toBe("photo of SKS dog");
    expect(effectiveCaption("", "default", "")).toBe("");
    expect(effectiveCaption(undefined, "", "sks")).toBe("sks");
  });
});

describe("multipart rules", () => {
  const part = (n: number, size: number) => ({ n, size, etag: `e${n}` });
  it("accept equal parts of at least 5 MiB and a smaller last part", () => {
    expect(checkParts("a.png", [part(2, 10), part(1, PART_MIN_BYTES)])).toBeUndefined();
    expect(checkParts("a.png", [part(1, 42)])).toBeUndefined();
  });
  it("name the missing, small or uneven parts", () => {
    expect(checkParts("a.png", [])).toMatch(/no parts/);
    expect(checkParts("a.png", [part(1, PART_MIN_BYTES), part(3, 1)])).toMatch(/missing part 2/);
    expect(checkParts("a.png", [part(1, 1000), part(2, 10)])).toMatch(/at least 5242880/);
    expect(checkParts("a.png", [part(1, PART_MIN_BYTES), part(2, PART_MIN_BYTES + 1), part(3, 1)])).toMatch(/same size/);
    expect(checkParts("a.png", [part(1, PART_MIN_BYTES), part(2, PART_MIN_BYTES + 1)])).toMatch(/last part/);
  });
});

describe("batches", () => {
  const images = Array.from({ length: 40 }, (_, i) => ({ filename: `img_${i}.png`, caption: `caption "${i}"`, size: 1000 + i * 137 }));
  it("stay under the body limit, keep order and hold every image once", () => {
    const limit = 12_000;
    const batches = planBatches("ds", images, limit);
    expect(batches.length).toBeGreaterThan(3);
    for (const batch of batches) {
      expect(batch.bodyBytes).toBe(uploadBodyLength("ds", batch.images));
      expect(batch.bodyBytes).toBeLessThanOrEqual(limit);
    }
    expect(batches.flatMap((b) => b.images)).toEqual(images);
    // Greedy: adding the next image to any batch would have crossed the limit.
    batches.slice(0, -1).forEach((batch, i) => {
      const next = batches[i + 1]?.images[0];
      if (next) expect(uploadBodyLength("ds", [...batch.images, next])).toBeGreaterThan(limit);
    });
  });
  it("are planned in linear time, the same as measuring every candidate body whole", () => {
    const name = 'ds "x"';
    const naive = (list: typeof images, limit: number) => {
      const out: Array<{ images: typeof images; bodyBytes: number }> = [];
      let current: typeof images = [];
      for (const image of list) {
        if (current.length > 0 && uploadBodyLength(name, [...current, image]) > limit) {
          out.push({ images: current, bodyBytes: uploadBodyLength(name, current) });
          current = [];
        }
        current = [...current, image];
      }
      if (current.length > 0) out.push({ images: current, bodyBytes: uploadBodyLength(name, current) });
      return out;
    };
    const mixed = images.map((image, i) => ({ ...image, caption: i % 3 === 0 ? `é "quoted" \u0001 ${"x".repeat(i * 7)}` : image.caption }));
    for (const limit of [10_000, 20_000, 40_000]) {
      const planned = planBatches(name, mixed, limit);
      expect(planned.length).toBeGreaterThan(1);
      expect(planned).toEqual(naive(mixed, limit));
    }
    const many = Array.from({ length: 5000 }, (_, i) => ({ filename: `img_${i}.png`, caption: "c".repeat(4000), size: 1000 + i }));
    const started = performance.now();
    const batches = planBatches("ds", many, 90_000_000);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(batches.flatMap((b) => b.images)).toHaveLength(5000);
    for (const batch of batches.slice(0, 3)) expect(batch.bodyBytes).toBe(uploadBodyLength("ds", batch.images));
  });
  it("refuse an image that cannot fit a batch alone, and size the per-image limit to fit", () => {
    expect(() => planBatches("ds", [{ filename: "big.png", caption: "", size: 10_000 }], 5_000)).toThrow(/UPLOAD_BATCH_MAX_BYTES/);
    const largest = largestImageFor("ds", 90_000_000, 4000);
    expect(uploadBodyLength("ds", [{ filename: "x".repeat(128), caption: "\u0001".repeat(4000), size: largest }])).toBeLessThanOrEqual(90_000_000);
    expect(largest).toBeGreaterThan(60 * 1024 * 1024);
  });
});

describe("tokens", () => {
  it("are 128 random bits in hex, compared in constant time", () => {
    const a = newToken();
    expect(a).toMatch(TOKEN_PATTERN);
    expect(newToken()).not.toBe(a);
    expect(sameHash("abc", "abc")).toBe(true);
    expect(sameHash("abc", "abd")).toBe(false);
    expect(sameHash("abc", "abcd")).toBe(false);
  });
});
