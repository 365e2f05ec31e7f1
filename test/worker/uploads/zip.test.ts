import { env, runInDurableObject, SELF } from "cloudflare:test";
import { Zip, ZipDeflate } from "fflate";
import { describe, expect, it } from "vitest";
import { concatBytes } from "../../../src/common";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import type { Manifest } from "../../../src/uploads/types";
import { unpackZip, type ZipEntrySink } from "../../../src/uploads/receive/zip";
import { image, newSession } from "./support";

const MiB = 1024 * 1024;

/**
 * A zip written as a stream (so its entries have data descriptors and no sizes up front),
 * each entry fed in 1 MiB chunks: `zeros` entries compress about 1000:1.
 */
function streamedZip(entries: Array<{ name: string; zeros?: number; bytes?: Uint8Array }>): Uint8Array {
  const out: Uint8Array[] = [];
  const zip = new Zip((error, chunk) => {
    if (error) throw error;
    out.push(chunk);
  });
  const zeros = new Uint8Array(MiB);
  for (const entry of entries) {
    const file = new ZipDeflate(entry.name, { level: 1 });
    zip.add(file);
    if (entry.bytes) file.push(entry.bytes, entry.zeros === undefined);
    for (let left = entry.zeros ?? 0; left > 0; left -= MiB)
      file.push(zeros.subarray(0, Math.min(MiB, left)), left <= MiB);
  }
  zip.end();
  return concatBytes(out);
}

/** The archive as a stream of 64 KiB chunks, like an R2 object body. */
function chunked(bytes: Uint8Array, size = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

class RecordingSink implements ZipEntrySink {
  written = 0;
  largestChunk = 0;
  closed = false;
  aborted: string | undefined;
  constructor(private readonly limit = Infinity) {}
  async write(chunk: Uint8Array): Promise<boolean> {
    this.written += chunk.byteLength;
    this.largestChunk = Math.max(this.largestChunk, chunk.byteLength);
    return this.written <= this.limit;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  async abort(reason: string): Promise<void> {
    this.aborted = reason;
  }
}

describe("unpacking zips", () => {
  it("inflates a zip bomb in small pieces and stops an entry at the per-file limit", async () => {
    const bomb = streamedZip([
      { name: "bomb.png", zeros: 200 * MiB },
      { name: "after.png", bytes: image("png", 3000) },
    ]);
    expect(bomb.length).toBeLessThan(400 * 1024);
    const sinks = new Map<string, RecordingSink>();
    await unpackZip(
      chunked(bomb),
      async (path) => {
        const sink = new RecordingSink();
        sinks.set(path, sink);
        return sink;
      },
      20 * MiB,
    );
    const entry = sinks.get("bomb.png");
    expect(entry?.aborted).toMatch(/unpacks to more than 20971520 bytes.*UPLOAD_FILE_MAX_BYTES/);
    expect(entry?.closed).toBe(false);
    // No single write near the 67 MB one call made when whole 64 KiB chunks were inflated.
    expect(entry?.largestChunk).toBeLessThanOrEqual(5 * MiB);
    expect(entry?.written).toBeLessThanOrEqual(20 * MiB);
    // The rest of the bomb is skipped, not inflated: the entry after it still arrives.
    expect(sinks.get("after.png")).toMatchObject({ written: 3000, closed: true, aborted: undefined });
  });

  it("stops inflating an entry its sink refuses", async () => {
    const zip = streamedZip([
      { name: "a.png", zeros: 50 * MiB },
      { name: "b.png", bytes: image("png", 100) },
    ]);
    const refusing = new RecordingSink(1 * MiB);
    const next = new RecordingSink();
    await unpackZip(chunked(zip), async (path) => (path === "a.png" ? refusing : next), 64 * MiB);
    expect(refusing.written).toBeLessThan(6 * MiB);
    expect(refusing.closed).toBe(false);
    expect(next).toMatchObject({ written: 100, closed: true });
  });

  it("refuses a bomb entry of unknown size in an upload, keeping the session's other files", async () => {
    const { base } = await newSession();
    const zip = streamedZip([
      { name: "bomb.png", bytes: image("png", 16), zeros: 100 * MiB },
      { name: "ok.png", bytes: image("png", 2000) },
    ]);
    const response = await SELF.fetch(`${base}/files/set.zip`, { method: "PUT", body: zip });
    expect(response.status).toBe(201);
    const body = (await response.json()) as {
      unpacked: { images: number; rejected: Array<{ name: string; reason: string }> };
    };
    expect(body.unpacked.images).toBe(1);
    expect(body.unpacked.rejected).toEqual([
      { name: "bomb.png", reason: expect.stringMatching(/limit per image|unpacks to more than/) },
    ]);
    const manifest = (await (await SELF.fetch(base)).json()) as Manifest;
    expect(manifest.files.map((f) => [f.name, f.size])).toEqual([["ok.png", 2000]]);
  });

  it(
    "counts entries of unknown size with their real size against the session limit, removing what does not " + "fit",
    async () => {
      const { base, tokenHash, stub } = await smallSession(10_000);
      const compressible = (seed: number) => {
        const bytes = new Uint8Array(4000).fill(seed);
        bytes.set(image("png", 8));
        return bytes;
      };
      const zip = streamedZip([1, 2, 3].map((i) => ({ name: `img_${i}.png`, bytes: compressible(i) })));
      const response = await SELF.fetch(`${base}/files/set.zip`, { method: "PUT", body: zip });
      expect(response.status).toBe(201);
      const body = (await response.json()) as {
        unpacked: { images: number; rejected: Array<{ name: string; reason: string }> };
      };
      expect(body.unpacked.images).toBe(2);
      expect(body.unpacked.rejected).toEqual([
        { name: "img_3.png", reason: expect.stringMatching(/10000-byte limit \(UPLOAD_SESSION_MAX_BYTES\)/) },
      ]);
      const m = await stub.manifest();
      expect(m.ok && m.value.files.map((f) => f.name)).toEqual(["img_1.png", "img_2.png"]);
      const staged = await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` });
      expect(staged.objects.map((o) => o.key.split("/").pop())).toEqual(["img_1.png", "img_2.png"]);
    },
  );

  it("checks a file joined from parts again with its real size", async () => {
    const { base, tokenHash, stub } = await smallSession(64 * MiB);
    const file = image("png", 5 * MiB + 1000);
    expect(
      (await SELF.fetch(`${base}/files/big.png/parts/1`, { method: "PUT", body: file.slice(0, 5 * MiB) })).status,
    ).toBe(201);
    expect(
      (await SELF.fetch(`${base}/files/big.png/parts/2`, { method: "PUT", body: file.slice(5 * MiB) })).status,
    ).toBe(201);
    // Another upload took the room meanwhile (nothing is reserved while parts arrive).
    await runInDurableObject(stub, (instance: UploadSession) => {
      instance.config = { ...instance.config, UPLOAD_SESSION_MAX_BYTES: 5 * MiB };
    });
    const done = await SELF.fetch(`${base}/files/big.png/complete`, { method: "POST" });
    expect(done.status).toBe(413);
    expect(((await done.json()) as { error: string }).error).toMatch(/UPLOAD_SESSION_MAX_BYTES/);
    const m = await stub.manifest();
    expect(m.ok && m.value.files).toEqual([]);
    expect(m.ok && m.value.rejected.map((r) => r.name)).toEqual(["big.png"]);
    expect((await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` })).objects).toEqual([]);
  });
});

async function smallSession(sessionMaxBytes: number) {
  const session = await newSession();
  const stub = sessionStub(env, session.tokenHash);
  await runInDurableObject(stub, (instance: UploadSession) => {
    instance.config = { ...instance.config, UPLOAD_SESSION_MAX_BYTES: sessionMaxBytes };
  });
  return { ...session, stub };
}
