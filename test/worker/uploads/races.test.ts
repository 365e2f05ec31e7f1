import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import { TUS_PART_BYTES } from "../../../src/uploads/receive/tus";
import type { Manifest } from "../../../src/uploads/types";
import { image, newSession } from "./support";

/**
 * Two requests writing one place of a file at the same time, against the real session object
 * and R2: the second is refused before it writes a byte, the first finishes, and the file
 * stays whole. Each race holds the first request's body open (a stream this test feeds), so
 * the second really arrives while the first is streaming.
 */

const MiB = 1024 * 1024;
const TUS = { "Tus-Resumable": "1.0.0" };

/** A request body fed by the test: `send` pushes bytes, `end` closes it. */
function heldBody(length?: number) {
  const pipe = length === undefined ? new TransformStream<Uint8Array, Uint8Array>() : new FixedLengthStream(length);
  const writer = pipe.writable.getWriter();
  return {
    body: pipe.readable,
    send: (bytes: Uint8Array) => writer.write(bytes),
    end: () => writer.close(),
  };
}

function patch(url: string, offset: number, body: BodyInit) {
  return SELF.fetch(url, {
    method: "PATCH",
    body,
    headers: { ...TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset) },
  });
}

async function createTus(base: string, filename: string, length: number): Promise<string> {
  const created = await SELF.fetch(`${base}/tus/`, {
    method: "POST",
    headers: { ...TUS, "Upload-Length": String(length), "Upload-Metadata": `filename ${btoa(filename)}` },
  });
  expect(created.status).toBe(201);
  return created.headers.get("Location") ?? "";
}

async function headOffset(url: string): Promise<number> {
  const r = await SELF.fetch(url, { method: "HEAD", headers: TUS });
  expect(r.status).toBe(200);
  return Number(r.headers.get("Upload-Offset"));
}

/** Write leases the session holds now (any, expired or not). */
async function leases(tokenHash: string): Promise<Array<{ name: string; slot: string }>> {
  return runInDurableObject(sessionStub(env, tokenHash), (_instance: UploadSession, state) =>
    state.storage.sql.exec<{ name: string; slot: string }>("SELECT name, slot FROM leases ORDER BY slot").toArray(),
  );
}

async function shortLeases(tokenHash: string, ms: number): Promise<void> {
  await runInDurableObject(sessionStub(env, tokenHash), (instance: UploadSession) => {
    instance.leaseMs = ms;
  });
}

const errorOf = async (r: Response) => ((await r.json()) as { error: string }).error;
const manifestOf = async (base: string) => (await (await SELF.fetch(base)).json()) as Manifest;

async function sha256(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  return [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))]
    .map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function stagedSha(tokenHash: string, name: string): Promise<string> {
  const object = await env.STAGING.get(`uploads/${tokenHash.slice(0, 32)}/files/${name}`);
  if (!object) throw new Error(`${name} is not staged in R2`);
  return sha256(await object.arrayBuffer());
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("concurrent tus PATCHes of one upload", () => {
  it(
    "refuse the second before it writes, keep the first whole through a pause longer than a lease, and later " +
      "PATCHes finish the file",
    async () => {
      const { base, tokenHash } = await newSession();
      // Leases short enough that the first PATCH's pause outlives several of them: its heartbeat keeps its hold.
      await shortLeases(tokenHash, 800);
      const file = image("png", TUS_PART_BYTES + 3 * MiB + 17, 21);
      const url = await createTus(base, "race.png", file.length);

      // PATCH A: the first 9 MiB, a full part and some; once its part is stored (HEAD says so), a pause.
      const a = heldBody();
      const first = patch(url, 0, a.body);
      await a.send(file.slice(0, 9 * MiB));
      await expect.poll(() => headOffset(url), { timeout: 10_000 }).toBe(TUS_PART_BYTES);
      await sleep(2000);

      // PATCH B, a client resuming from the offset HEAD gives while A still streams: refused, nothing written.
      const second = await patch(url, TUS_PART_BYTES, file.slice(TUS_PART_BYTES));
      expect(second.status).toBe(409);
      expect(await errorOf(second)).toMatch(
        /another PATCH of race\.png is storing bytes right now.*HEAD the upload URL/,
      );
      expect((await patch(url, 0, file)).status).toBe(409);
      expect(await leases(tokenHash)).toEqual([{ name: "race.png", slot: "tus" }]);
      // A HEAD meanwhile says what is stored, not what is in flight.
      expect(await headOffset(url)).toBe(TUS_PART_BYTES);

      await a.send(file.slice(9 * MiB, 10 * MiB));
      await a.end();
      const firstDone = await first;
      expect(firstDone.status).toBe(204);
      expect(Number(firstDone.headers.get("Upload-Offset"))).toBe(10 * MiB);
      expect(await leases(tokenHash)).toEqual([]);

      // The client resumes from HEAD and finishes; the staged object is the file, byte for byte.
      const offset = await headOffset(url);
      expect(offset).toBe(10 * MiB);
      const last = await patch(url, offset, file.slice(offset));
      expect(last.status).toBe(204);
      expect((await manifestOf(base)).files).toMatchObject([
        { name: "race.png", size: file.length, state: "staged", format: "png" },
      ]);
      expect(await stagedSha(tokenHash, "race.png")).toBe(await sha256(file));
      // A finished upload takes no more bytes, and says in which state it is.
      const late = await patch(url, 0, file);
      expect(late.status).toBe(409);
      expect(await errorOf(late)).toMatch(/race\.png is already staged .* DELETE/);
    },
    30_000,
  );

  it(
    "a PATCH whose holder died (its lease never renewed nor released) blocks the upload only until its lease " +
      "expires",
    async () => {
      const { base, tokenHash } = await newSession();
      await shortLeases(tokenHash, 1500);
      const file = image("jpeg", 3000, 22);
      const url = await createTus(base, "orphan.jpg", file.length);
      // What a PATCH does first, from a Worker that is then evicted: the lease is granted and never heard of again.
      const begun = await sessionStub(env, tokenHash).tusBegin("orphan.jpg", 0);
      expect(begun.ok).toBe(true);
      const blocked = await patch(url, 0, file);
      expect(blocked.status).toBe(409);
      expect(await errorOf(blocked)).toMatch(/holds it for \d+ s more at most/);
      expect(await headOffset(url)).toBe(0);
      await sleep(1600);
      const resumed = await patch(url, 0, file);
      expect(resumed.status).toBe(204);
      expect(await stagedSha(tokenHash, "orphan.jpg")).toBe(await sha256(file));
    },
    15_000,
  );

  it("a PATCH that loses its upload to DELETE while it streams answers 409 and leaves nothing behind", async () => {
    const { base, tokenHash } = await newSession();
    const file = image("webp", TUS_PART_BYTES + 2 * MiB, 23);
    const url = await createTus(base, "gone.webp", file.length);
    const a = heldBody();
    const first = patch(url, 0, a.body);
    await a.send(file.slice(0, 9 * MiB));
    await expect.poll(() => headOffset(url), { timeout: 10_000 }).toBe(TUS_PART_BYTES);
    expect((await SELF.fetch(url, { method: "DELETE", headers: TUS })).status).toBe(204);
    await a.send(file.slice(9 * MiB));
    await a.end();
    const answer = await first;
    expect(answer.status).toBe(409);
    expect(await errorOf(answer)).toMatch(/lost its hold on the upload/);
    expect((await manifestOf(base)).files).toEqual([]);
    expect((await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` })).objects).toEqual([]);
  }, 15_000);
});

describe("concurrent PUTs of one part", () => {
  it(
    "refuse the second PUT of a part while the first streams, refuse complete until it has arrived, and join " +
      "the file whole",
    async () => {
      const { base, tokenHash } = await newSession();
      const file = image("png", 5 * MiB + 4321, 31);
      const part1 = file.slice(0, 5 * MiB);
      const part2 = file.slice(5 * MiB);
      const partUrl = (n: number) => `${base}/files/big.png/parts/${n}`;

      const a = heldBody(part1.length);
      const first = SELF.fetch(partUrl(1), { method: "PUT", body: a.body });
      await a.send(part1.slice(0, MiB));
      // The file is known once A's request has begun it, and its part's lease is granted before that.
      await expect.poll(async () => (await SELF.fetch(`${base}/files/big.png`)).status, { timeout: 10_000 }).toBe(200);

      const second = await SELF.fetch(partUrl(1), { method: "PUT", body: part1 });
      expect(second.status).toBe(409);
      expect(await errorOf(second)).toMatch(/part 1 of big\.png is arriving in another request right now/);
      expect(await leases(tokenHash)).toEqual([{ name: "big.png", slot: "part 1" }]);
      // Other parts go on in parallel.
      expect((await SELF.fetch(partUrl(2), { method: "PUT", body: part2 })).status).toBe(201);
      const early = await SELF.fetch(`${base}/files/big.png/complete`, { method: "POST" });
      expect(early.status).toBe(409);
      expect(await errorOf(early)).toMatch(/part 1 of big\.png is arriving.*complete again once it has arrived/);

      await a.send(part1.slice(MiB));
      await a.end();
      expect((await first).status).toBe(201);
      expect(await leases(tokenHash)).toEqual([]);
      const done = await SELF.fetch(`${base}/files/big.png/complete`, { method: "POST" });
      expect(done.status).toBe(200);
      expect(await stagedSha(tokenHash, "big.png")).toBe(await sha256(file));
    },
    15_000,
  );
});

describe("late parts after complete", () => {
  it(
    "leave a staged file as it is: a late part, even one that is not an image, or a tus creation of its " +
      "name, gets 409 naming its state",
    async () => {
      const { base, tokenHash } = await newSession();
      const file = image("png", 5 * MiB + 99, 41);
      const partUrl = (n: number) => `${base}/files/late.png/parts/${n}`;
      expect((await SELF.fetch(partUrl(1), { method: "PUT", body: file.slice(0, 5 * MiB) })).status).toBe(201);
      expect((await SELF.fetch(partUrl(2), { method: "PUT", body: file.slice(5 * MiB) })).status).toBe(201);
      expect((await SELF.fetch(`${base}/files/late.png/complete`, { method: "POST" })).status).toBe(200);

      const again = await SELF.fetch(partUrl(2), { method: "PUT", body: file.slice(5 * MiB) });
      expect(again.status).toBe(409);
      expect(await errorOf(again)).toMatch(
        /late\.png is already staged \(\d+ bytes, complete\).*DELETE \.\.\.\/files\/late\.png first/,
      );
      // Before the fix this one failed the image check and took the staged file with it.
      const garbage = await SELF.fetch(partUrl(1), { method: "PUT", body: new Uint8Array(100) });
      expect(garbage.status).toBe(409);
      const tus = await SELF.fetch(`${base}/tus/`, {
        method: "POST",
        headers: { ...TUS, "Upload-Length": "100", "Upload-Metadata": `filename ${btoa("late.png")}` },
      });
      expect(tus.status).toBe(409);

      const m = await manifestOf(base);
      expect(m.files).toMatchObject([{ name: "late.png", size: file.length, state: "staged" }]);
      expect(m.rejected).toEqual([]);
      expect(await stagedSha(tokenHash, "late.png")).toBe(await sha256(file));
      // Completing again is harmless, and an explicit DELETE is what frees the name.
      expect((await SELF.fetch(`${base}/files/late.png/complete`, { method: "POST" })).status).toBe(200);
      expect((await SELF.fetch(`${base}/files/late.png`, { method: "DELETE" })).status).toBe(200);
      expect((await SELF.fetch(partUrl(1), { method: "PUT", body: image("png", 1000, 42) })).status).toBe(201);
    },
    15_000,
  );
});
