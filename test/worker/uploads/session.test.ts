import { env, SELF } from "cloudflare:test";
import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import type { Manifest } from "../../../src/uploads/types";
import { image, newSession } from "./support";

const MiB = 1024 * 1024;

async function call(url: string, method: string, body?: Uint8Array | string) {
  const response = await SELF.fetch(url, { method, ...(body === undefined ? {} : { body }) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
const manifestOf = async (base: string) => (await call(base, "GET")).json as unknown as Manifest;

describe("upload sessions", () => {
  it("take whole images, pair .txt captions by stem and report bad files without poisoning the session", async () => {
    const { base } = await newSession("cats", { defaultCaption: "a cat", triggerWord: "sks" });
    expect((await call(`${base}/files/cat_01.png`, "PUT", image("png", 5000))).status).toBe(201);
    expect((await call(`${base}/files/cat_02.jpg`, "PUT", image("jpeg", 3000))).status).toBe(201);
    expect((await call(`${base}/files/cat_01.txt`, "PUT", "sks cat on a sofa")).status).toBe(201);
    const bad = await call(`${base}/files/fake.png`, "PUT", image("jpeg", 100));
    expect(bad.status).toBe(415);
    expect(bad.json.error).toMatch(/does not contain a PNG image/);
    expect((await call(`${base}/files/notes.pdf`, "PUT", "x")).status).toBe(415);
    const m = await manifestOf(base);
    expect(m.files.map((f) => [f.name, f.size, f.caption])).toEqual([
      ["cat_01.png", 5000, "sks cat on a sofa"],
      ["cat_02.jpg", 3000, "sks, a cat"],
    ]);
    expect(m.rejected.map((r) => r.name)).toEqual(["fake.png", "notes.pdf"]);
    // The refused file, sent again correctly, is accepted and no longer reported.
    expect((await call(`${base}/files/fake.png`, "PUT", image("png", 100))).status).toBe(201);
    expect((await manifestOf(base)).rejected.map((r) => r.name)).toEqual(["notes.pdf"]);
  });

  it("resume a file sent in parts: list received parts, refuse bad parts, complete byte-exact", async () => {
    const { base, manifest } = await newSession();
    const file = image("webp", 2 * 5 * MiB + 1234, 7);
    const partUrl = (n: number) => `${base}/files/big.webp/parts/${n}`;
    expect((await call(partUrl(1), "PUT", file.slice(0, 5 * MiB))).status).toBe(201);
    expect((await call(partUrl(3), "PUT", file.slice(10 * MiB))).status).toBe(201);
    const status = await call(`${base}/files/big.webp`, "GET");
    expect(status.json).toMatchObject({ state: "receiving", parts: [{ n: 1 }, { n: 3 }] });
    const early = await call(`${base}/files/big.webp/complete`, "POST");
    expect(early.status).toBe(409);
    expect(early.json.error).toMatch(/missing part 2/);
    expect((await call(partUrl(2), "PUT", file.slice(5 * MiB, 10 * MiB))).status).toBe(201);
    const done = await call(`${base}/files/big.webp/complete`, "POST");
    expect(done.status).toBe(200);
    expect(done.json.size).toBe(file.length);
    const m = await manifestOf(base);
    expect(m.files).toMatchObject([{ name: "big.webp", size: file.length, state: "staged", format: "webp" }]);
    expect(manifest.limits.part_min_bytes).toBe(5 * MiB);
  });

  it("refuse a first part that is not the image its name says", async () => {
    const { base } = await newSession();
    const r = await call(`${base}/files/x.png/parts/1`, "PUT", new Uint8Array(100));
    expect(r.status).toBe(415);
    expect((await manifestOf(base)).files).toEqual([]);
  });

  it("apply captions.csv and captions.json, and enforce the caption length", async () => {
    const { base } = await newSession();
    await call(`${base}/files/a.png`, "PUT", image("png", 100));
    await call(`${base}/files/b.png`, "PUT", image("png", 100));
    expect((await call(`${base}/files/captions.csv`, "PUT", 'a.png,"first, with comma"\n')).status).toBe(201);
    expect((await call(`${base}/files/captions.json`, "PUT", '{"b.png": "second", "c.png": "third"}')).status).toBe(
      201,
    );
    const m = await manifestOf(base);
    expect(m.files.map((f) => f.caption)).toEqual(["first, with comma", "second"]);
    expect(m.unpaired_captions).toEqual(["c"]);
    const long = await call(`${base}/captions/a.png`, "PUT", "x".repeat(4001));
    expect(long.status).toBe(400);
    expect(long.json.error).toMatch(/4000-character limit/);
    expect((await call(`${base}/captions/a.png`, "PUT", "edited on the page")).status).toBe(200);
    expect((await manifestOf(base)).files[0]?.caption).toBe("edited on the page");
  });

  it(
    "pair a caption edited on the page with its image stored under the sanitised name, and refuse a huge " +
      "caption unread",
    async () => {
      const { base } = await newSession();
      expect((await call(`${base}/files/IMG%201.png`, "PUT", image("png", 100))).status).toBe(201);
      expect((await call(`${base}/captions/IMG%201.png`, "PUT", "spaces in the name")).status).toBe(200);
      const m = await manifestOf(base);
      expect(m.files.map((f) => [f.name, f.caption])).toEqual([["IMG_1.png", "spaces in the name"]]);
      expect(m.unpaired_captions).toEqual([]);
      const huge = await call(`${base}/captions/IMG%201.png`, "PUT", "x".repeat(5 * 1024 * 1024));
      expect(huge.status).toBe(400);
      expect(huge.json.error).toMatch(/the caption for IMG 1\.png is over 16000 bytes/);
    },
  );

  it("unpack a zip of images and captions into the session, refusing its bad entries one by one", async () => {
    const { base } = await newSession();
    const zip = zipSync({
      "set/one.png": image("png", 2000, 1),
      "set/one.txt": new TextEncoder().encode("caption one"),
      "other/one.png": image("png", 2100, 2),
      "two.jpg": [image("jpeg", 3000, 3), { level: 6 }],
      "bad.png": image("jpeg", 50),
      "__MACOSX/._one.png": new Uint8Array(10),
      "readme.md": new TextEncoder().encode("hi"),
    });
    const r = await call(`${base}/files/set.zip`, "PUT", zip);
    expect(r.status).toBe(201);
    expect(r.json.unpacked).toMatchObject({ images: 3, captions: 1 });
    const m = await manifestOf(base);
    expect(m.files.map((f) => [f.name, f.size])).toEqual([
      ["one-2.png", 2100],
      ["one.png", 2000],
      ["two.jpg", 3000],
    ]);
    expect(m.files.find((f) => f.name === "one.png")?.caption).toBe("caption one");
    expect(m.rejected.map((f) => f.name).sort()).toEqual(["bad.png", "readme.md"]);
  });

  it("enforce the per-image size limit and answer unknown tokens with 404", async () => {
    const { base } = await newSession();
    const empty = await call(`${base}/files/a.png`, "PUT", new Uint8Array(0));
    expect([400, 411]).toContain(empty.status);
    const tooBig = await call(`${base}/files/huge.png`, "PUT", image("png", 65 * MiB));
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error).toMatch(/limit per image/);
    expect((await call(`https://example.com/uploads/${"0".repeat(32)}`, "GET")).status).toBe(404);
    expect((await call("https://example.com/uploads/short", "GET")).status).toBe(404);
  });

  it("abandon: DELETE removes the staged objects and the session", async () => {
    const { base, tokenHash } = await newSession();
    await call(`${base}/files/a.png`, "PUT", image("png", 100));
    expect((await call(base, "DELETE")).status).toBe(200);
    expect((await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` })).objects).toEqual([]);
    expect((await call(base, "GET")).status).toBe(404);
  });
});
