import { env, runInDurableObject, SELF } from "cloudflare:test";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import {
  imageExtension,
  imageNameProblem,
  nameRefusal,
  sanitizeFilename,
  stemClash,
  stemOf,
  uniqueName,
  uploadKind,
  checkParts,
} from "../../../src/uploads/rules";
import { uploadBodyLength } from "../../../src/toolkit/bridge/upload-body";
import { largestImageFor, planBatches } from "../../../src/uploads/batches";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import {
  CaptionFileError,
  captionListProblem,
  effectiveCaption,
  parseCaptionsCsv,
  parseCaptionsJson,
  unsafeCharacter,
} from "../../../src/uploads/captions";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import type { SessionStore } from "../../../src/uploads/store";
import type { Manifest } from "../../../src/uploads/types";
import { image, newSession } from "./support";
import { R2_MIN_PART_BYTES as PART_MIN_BYTES } from "../../../src/r2/multipart";
import { newToken, TOKEN_PATTERN } from "../../../src/uploads/create";

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

describe("names without a stem", () => {
  it("are not images, captions or archives", () => {
    for (const name of ["png", "PNG", ".png", "jpg", "webp", "txt", ".txt", "zip", "x.", ""]) {
      expect(imageExtension(name), name).toBeUndefined();
      expect(uploadKind(name), name).toBeUndefined();
    }
    expect(imageExtension("a.png")).toBe("png");
    expect(imageExtension("a.b.JPEG")).toBe("jpeg");
    expect(uploadKind("a.txt")).toBe("caption");
    expect(uploadKind("a.zip")).toBe("zip");
    expect(sanitizeFilename(".png")).toBe("png");
    expect(imageNameProblem("png")).toBe("has no name before its extension: name the file like cat_01.png");
    expect(imageNameProblem("a.gif")).toMatch(/must end in one of: \.png, \.jpg, \.jpeg, \.webp/);
    expect(imageNameProblem("a.png")).toBeUndefined();
  });

  it("are refused with the name as it was sent", () => {
    expect(nameRefusal(".png", "png")).toBe('".png" has no name before its extension: name the file like cat_01.png');
    expect(nameRefusal("txt", "txt")).toMatch(/"txt" has no name before its extension: name the file like cat_01\.txt/);
    expect(nameRefusal("notes.pdf", "notes.pdf")).toMatch(/notes\.pdf is not accepted here: send images/);
  });
});

describe("one stem, one caption", () => {
  it("refuses a second image with another extension, in any case, and nothing else", () => {
    expect(stemClash("a.jpg", ["a.png"])).toMatch(
      /^a\.jpg and a\.png share the name "a": the toolkit stores each image's caption as <name>\.txt, so one caption would replace the other\. Rename one of them \(for example a_2\.jpg\)$/,
    );
    expect(stemClash("A.webp", ["b.png", "a.PNG"])).toMatch(/A\.webp and a\.PNG share the name "a"/);
    expect(stemClash("a.png", ["A.PNG"])).toBeUndefined(); // the same file sent again
    expect(stemClash("a.png", ["a.txt", "a.zip", "ab.png", "a.b.png"])).toBeUndefined();
  });
});

describe("characters", () => {
  it("name the field, the character and its position in characters", () => {
    expect(unsafeCharacter("ab\u001bc", "caption")).toBe(
      "caption contains U+001B (ESC), a control character, at position 3: remove it",
    );
    expect(unsafeCharacter("🐱🐱\u0000", "caption")).toMatch(/U\+0000 \(NUL\), a control character, at position 3/);
    expect(unsafeCharacter("a\nb", "trigger_word")).toMatch(/at position 2: trigger_word must be on one line/);
    expect(unsafeCharacter("a\tb\r\nc", "caption", { lines: true })).toBeUndefined();
    expect(unsafeCharacter("x\u2066y", "caption", { lines: true })).toMatch(
      /U\+2066 \(left-to-right isolate\), a bidirectional text control/,
    );
    expect(unsafeCharacter("a\u200bb", "caption", { lines: true })).toBeUndefined();
    expect(unsafeCharacter("a\u200bb", "trigger_word", { visibleOnly: true })).toMatch(
      /an invisible character, at position 2/,
    );
    expect(unsafeCharacter("Zürich 東京 👨‍👩‍👧 Ελλάδα", "caption", { visibleOnly: true })).toBeUndefined();
  });

  it("are checked for every caption a session takes, and the names they are for", () => {
    expect(
      captionListProblem(
        [
          { stem: "a", text: "fine" },
          { stem: "b", text: "bad\u0000" },
        ],
        4000,
      ),
    ).toBe("the caption for b contains U+0000 (NUL), a control character, at position 4: remove it");
    expect(captionListProblem([{ stem: "a\u001b", text: "x" }], 4000)).toMatch(
      /the file name "a\\u001b" a caption is for contains U\+001B/,
    );
    expect(captionListProblem([{ stem: "a", text: "x".repeat(11) }], 10)).toMatch(
      /11 characters, over the 10-character limit/,
    );
    expect(captionListProblem([{ stem: "a", text: "multi\nline\tcaption ✓" }], 4000)).toBeUndefined();
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
    expect(checkParts("a.png", [part(1, PART_MIN_BYTES), part(2, PART_MIN_BYTES + 1), part(3, 1)])).toMatch(
      /same size/,
    );
    expect(checkParts("a.png", [part(1, PART_MIN_BYTES), part(2, PART_MIN_BYTES + 1)])).toMatch(/last part/);
  });
});

/** The bridge measures batch bodies; planning never sends, so its transport is never called. */
const bridge = new BridgeUpstream(
  new ToolkitClient({ kind: "direct", target: "unused", fetch: () => Promise.reject(new Error("not called")) }, 1000),
);

describe("batches", () => {
  const images = Array.from({ length: 40 }, (_, i) => ({
    filename: `img_${i}.png`,
    caption: `caption "${i}"`,
    size: 1000 + i * 137,
  }));
  it("stay under the body limit, keep order and hold every image once", () => {
    const limit = 12_000;
    const batches = planBatches("ds", images, limit, bridge);
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
    const mixed = images.map((image, i) => ({
      ...image,
      caption: i % 3 === 0 ? `é "quoted" \u0001 ${"x".repeat(i * 7)}` : image.caption,
    }));
    for (const limit of [10_000, 20_000, 40_000]) {
      const planned = planBatches(name, mixed, limit, bridge);
      expect(planned.length).toBeGreaterThan(1);
      expect(planned).toEqual(naive(mixed, limit));
    }
    const many = Array.from({ length: 5000 }, (_, i) => ({
      filename: `img_${i}.png`,
      caption: "c".repeat(4000),
      size: 1000 + i,
    }));
    // Linear: each image is measured once, and the body's fixed part once (counted, not timed).
    let measured = 0;
    let framed = 0;
    const counting = {
      batchBytes: (image: (typeof many)[number]) => (measured++, bridge.batchBytes(image)),
      batchOverhead: (dataset: string) => (framed++, bridge.batchOverhead(dataset)),
    };
    const batches = planBatches("ds", many, 90_000_000, counting);
    expect({ measured, framed }).toEqual({ measured: 5000, framed: 1 });
    expect(batches.flatMap((b) => b.images)).toHaveLength(5000);
    for (const batch of batches.slice(0, 3)) expect(batch.bodyBytes).toBe(uploadBodyLength("ds", batch.images));
  });
  it("refuse an image that cannot fit a batch alone, and size the per-image limit to fit", () => {
    expect(() => planBatches("ds", [{ filename: "big.png", caption: "", size: 10_000 }], 5_000, bridge)).toThrow(
      /UPLOAD_BATCH_MAX_BYTES/,
    );
    const largest = largestImageFor("ds", 90_000_000, 4000, bridge);
    expect(
      uploadBodyLength("ds", [{ filename: "x".repeat(128), caption: "\u0001".repeat(4000), size: largest }]),
    ).toBeLessThanOrEqual(90_000_000);
    // The largest, not merely one that fits: three bytes more (one more base64 group) do not.
    expect(
      uploadBodyLength("ds", [{ filename: "x".repeat(128), caption: "\u0001".repeat(4000), size: largest + 3 }]),
    ).toBeGreaterThan(90_000_000);
    expect(largest).toBeGreaterThan(60 * 1024 * 1024);
  });
});

describe("tokens", () => {
  it("are 128 random bits in hex", () => {
    const a = newToken();
    expect(a).toMatch(TOKEN_PATTERN);
    expect(newToken()).not.toBe(a);
  });
});

async function call(url: string, method: string, body?: Uint8Array | string, headers: Record<string, string> = {}) {
  const response = await SELF.fetch(url, { method, ...(body === undefined ? {} : { body }), headers });
  return { status: response.status, json: (await response.json().catch(() => ({}))) as Record<string, unknown> };
}
const manifestOf = async (base: string) => (await call(base, "GET")).json as unknown as Manifest;
describe("the same rules in an upload session", () => {
  it("refuses a file named only by its extension", async () => {
    const { base } = await newSession();
    for (const name of [".png", "png", "%2Epng", "jpg"]) {
      const r = await call(`${base}/files/${name}`, "PUT", image("png", 100));
      expect(r.status, name).toBe(415);
      expect(r.json.error, name).toMatch(/has no name before its extension: name the file like cat_01\./);
    }
    const tus = await SELF.fetch(`${base}/tus/`, {
      method: "POST",
      headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "100", "Upload-Metadata": `filename ${btoa(".webp")}` },
    });
    expect(tus.status).toBe(415);
    expect(await tus.text()).toMatch(/has no name before its extension/);
    expect((await manifestOf(base)).files).toEqual([]);
  });

  it("refuses a second image with the same stem, keeping the first with its caption", async () => {
    const { base } = await newSession();
    expect((await call(`${base}/files/a.png`, "PUT", image("png", 100))).status).toBe(201);
    expect((await call(`${base}/files/a.txt`, "PUT", "the first caption")).status).toBe(201);
    const whole = await call(`${base}/files/a.jpg`, "PUT", image("jpeg", 100));
    expect(whole.status).toBe(409);
    expect(whole.json.error).toMatch(/a\.jpg and a\.png share the name "a".*one caption would replace the other/);
    const part = await call(`${base}/files/A.webp/parts/1`, "PUT", image("webp", 100));
    expect(part.status).toBe(409);
    const tus = await SELF.fetch(`${base}/tus/`, {
      method: "POST",
      headers: { "Tus-Resumable": "1.0.0", "Upload-Length": "100", "Upload-Metadata": `filename ${btoa("a.jpeg")}` },
    });
    expect(tus.status).toBe(409);
    const zip = await call(
      `${base}/files/more.zip`,
      "PUT",
      zipSync({ "a.jpg": image("jpeg", 100), "b.png": image("png", 100) }),
    );
    expect(zip.json.unpacked).toMatchObject({ images: 1, rejected: [{ name: "a.jpg" }] });
    const m = await manifestOf(base);
    expect(m.files.map((f) => [f.name, f.caption])).toEqual([
      ["a.png", "the first caption"],
      ["b.png", ""],
    ]);
    expect(m.rejected.map((r) => r.name).sort()).toEqual(["A.webp", "a.jpeg", "a.jpg"]);
    // The same name again is the same file sent again, not a clash.
    expect((await call(`${base}/files/A.PNG`, "PUT", image("png", 120))).status).toBe(201);
  });

  it("refuses the one of two same-stem images that arrives second, when both were declared at once", async () => {
    const { base, tokenHash } = await newSession();
    const stub = sessionStub(env, tokenHash);
    expect((await stub.beginFile("a.png", 100, "whole")).ok).toBe(true);
    expect((await stub.beginFile("a.jpg", 100, "whole")).ok).toBe(true);
    expect((await stub.recordWhole("a.png", 100, "png")).ok).toBe(true);
    const second = await stub.recordWhole("a.jpg", 100, "jpeg");
    expect(second).toMatchObject({ ok: false, status: 409 });
    expect((await manifestOf(base)).files.map((f) => f.name)).toEqual(["a.png"]);
    // In parts: b.jpg arrived whole while b.png was still arriving in parts (both declared
    // before either had a row), so b.png, completed second, is refused and its bytes removed.
    const { base: base2, tokenHash: hash2 } = await newSession();
    expect((await call(`${base2}/files/b.png/parts/1`, "PUT", image("png", 100))).status).toBe(201);
    await runInDurableObject(sessionStub(env, hash2), async (session: UploadSession) => {
      (session as unknown as { store: SessionStore }).store.putFile({
        name: "b.jpg",
        size: 100,
        state: "staged",
        upload_id: null,
        format: "jpeg",
      });
    });
    const completed = await call(`${base2}/files/b.png/complete`, "POST");
    expect(completed.status).toBe(409);
    expect(completed.json.error).toMatch(/b\.png and b\.jpg share the name "b"/);
    const m2 = await manifestOf(base2);
    expect(m2.files.map((f) => f.name)).toEqual(["b.jpg"]);
    expect(m2.rejected.map((r) => r.name)).toEqual(["b.png"]);
    expect((await env.STAGING.list({ prefix: `uploads/${hash2.slice(0, 32)}/files/b.png` })).objects).toEqual([]);
  });

  it("refuses control characters in every caption it takes, keeping ordinary Unicode", async () => {
    const { base } = await newSession();
    await call(`${base}/files/a.png`, "PUT", image("png", 100));
    const page = await call(`${base}/captions/a.png`, "PUT", "red \u001b[31m text");
    expect(page.status).toBe(400);
    expect(page.json.error).toBe(
      "the caption for a contains U+001B (ESC), a control character, at position 5: remove it",
    );
    expect((await call(`${base}/files/a.txt`, "PUT", "nul\u0000")).json.error).toMatch(/U\+0000 \(NUL\)/);
    expect(
      (await call(`${base}/files/captions.json`, "PUT", JSON.stringify({ "a.png": "c1 \u0085" }))).json.error,
    ).toMatch(/U\+0085 \(next line\), a control character/);
    expect((await call(`${base}/files/captions.csv`, "PUT", 'a.png,"bidi \u202e"\n')).json.error).toMatch(
      /U\+202E \(right-to-left override\)/,
    );
    const tus = await SELF.fetch(`${base}/tus/`, {
      method: "POST",
      headers: {
        "Tus-Resumable": "1.0.0",
        "Upload-Length": "100",
        "Upload-Metadata": `filename ${btoa("b.png")},caption ${btoa("bell\u0007")}`,
      },
    });
    expect(tus.status).toBe(400);
    expect((await manifestOf(base)).files.map((f) => f.caption)).toEqual([""]);
    const fine = "Café au lait, 猫 🐈‍⬛\nsecond line";
    expect((await call(`${base}/captions/a.png`, "PUT", fine)).status).toBe(200);
    expect((await manifestOf(base)).files[0]?.caption).toBe(fine);
  });
});
