import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import { patchUpload, TUS_PART_BYTES } from "../../../src/uploads/receive/tus";
import type { Manifest } from "../../../src/uploads/types";
import { image, newSession } from "./support";
import { uploadedAnswer } from "../helpers/scripted-toolkit";

const MiB = 1024 * 1024;
const TUS = { "Tus-Resumable": "1.0.0" };
const b64 = (text: string) => btoa(text);

async function createUpload(base: string, filename: string, length: number, extra: Record<string, string> = {}) {
  return SELF.fetch(`${base}/tus/`, {
    method: "POST",
    headers: { ...TUS, "Upload-Length": String(length), "Upload-Metadata": `filename ${b64(filename)}`, ...extra },
  });
}

function patch(url: string, offset: number, body: BodyInit, headers: Record<string, string> = {}) {
  return SELF.fetch(url, {
    method: "PATCH",
    body,
    headers: { ...TUS, "Content-Type": "application/offset+octet-stream", "Upload-Offset": String(offset), ...headers },
  });
}

async function headOffset(url: string): Promise<number> {
  const r = await SELF.fetch(url, { method: "HEAD", headers: TUS });
  expect(r.status).toBe(200);
  expect(r.headers.get("Cache-Control")).toBe("no-store");
  return Number(r.headers.get("Upload-Offset"));
}

const manifestOf = async (base: string) => (await (await SELF.fetch(base)).json()) as Manifest;

async function hex(digest: ArrayBuffer): Promise<string> {
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** SHA-256 of an R2 object read in 1 MiB ranges, so no large object is held whole. */
async function r2Sha256(key: string, size: number): Promise<string> {
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  for (let at = 0; at < size; at += MiB) {
    const object = await env.STAGING.get(key, { range: { offset: at, length: Math.min(MiB, size - at) } });
    if (!object) throw new Error(`${key} is missing`);
    await writer.write(new Uint8Array(await object.arrayBuffer()));
  }
  await writer.close();
  return hex(await digest.digest);
}

describe("tus 1.0", () => {
  it("announces itself on OPTIONS and asks for the protocol version elsewhere", async () => {
    const { base, manifest } = await newSession();
    const r = await SELF.fetch(`${base}/tus/`, { method: "OPTIONS" });
    expect(r.status).toBe(204);
    expect(
      Object.fromEntries(
        ["Tus-Resumable", "Tus-Version", "Tus-Extension", "Tus-Max-Size"].map((h) => [h, r.headers.get(h)]),
      ),
    ).toEqual({
      "Tus-Resumable": "1.0.0",
      "Tus-Version": "1.0.0",
      "Tus-Extension": "creation,termination",
      "Tus-Max-Size": String(manifest.limits.file_max_bytes),
    });
    const noVersion = await SELF.fetch(`${base}/tus/`, { method: "POST", headers: { "Upload-Length": "10" } });
    expect(noVersion.status).toBe(412);
    expect(noVersion.headers.get("Tus-Version")).toBe("1.0.0");
  });

  it("takes PATCHes of uneven sizes into equal R2 parts and stages the file byte-exact", async () => {
    const { base, tokenHash } = await newSession();
    const file = image("png", 2 * TUS_PART_BYTES + 5 * MiB + 77, 3);
    const created = await createUpload(base, "big cat.png", file.length, {
      "Upload-Metadata": `filename ${b64("big cat.png")},caption ${b64("a big cat")}`,
    });
    expect(created.status).toBe(201);
    expect(created.headers.get("Tus-Resumable")).toBe("1.0.0");
    const url = created.headers.get("Location") ?? "";
    expect(url).toBe(`${base}/tus/big_cat.png`);
    expect(await headOffset(url)).toBe(0);
    const cuts = [0, 3 * MiB, 12 * MiB, 12 * MiB + 1, file.length];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const r = await patch(url, cuts[i]!, file.slice(cuts[i], cuts[i + 1]));
      expect(r.status).toBe(204);
      expect(Number(r.headers.get("Upload-Offset"))).toBe(cuts[i + 1]);
      if (i + 2 < cuts.length) expect(await headOffset(url)).toBe(cuts[i + 1]);
    }
    const m = await manifestOf(base);
    expect(m.files).toMatchObject([
      { name: "big_cat.png", size: file.length, state: "staged", format: "png", caption: "a big cat" },
    ]);
    const key = `uploads/${tokenHash.slice(0, 32)}/files/big_cat.png`;
    expect(await r2Sha256(key, file.length)).toBe(await hex(await crypto.subtle.digest("SHA-256", file)));
    // Only the staged image is left: no tail object, no unfinished multipart upload.
    expect(
      (await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` })).objects.map((o) => o.key),
    ).toEqual([key]);
    // A client resuming a finished upload learns it is complete.
    expect(await headOffset(url)).toBe(file.length);
  });

  it(
    "refuses a wrong offset, a wrong content type, and " + "resumes from the bytes stored when a PATCH breaks off",
    async () => {
      const { base, tokenHash } = await newSession();
      const file = image("jpeg", 10 * MiB + 5, 4);
      const url = (await createUpload(base, "cut.jpg", file.length)).headers.get("Location") ?? "";
      expect((await patch(url, 5, file.slice(5))).status).toBe(409);
      expect((await patch(url, 0, file, { "Content-Type": "application/octet-stream" })).status).toBe(415);
      // 9 MiB arrive, then the connection drops: one 8 MiB part and a 1 MiB tail are stored.
      let sent = 0;
      const broken = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 9 * MiB) return controller.error(new Error("connection reset"));
          controller.enqueue(file.slice(sent, sent + MiB));
          sent += MiB;
        },
      });
      // Called beneath the route: over SELF.fetch the stream's error would not reach the Worker's reader.
      const cut = await patchUpload(env, tokenHash, "cut.jpg", 0, broken);
      expect(cut).toMatchObject({
        ok: false,
        status: 400,
        error: expect.stringMatching(/broke off after byte 9437184 .*resume from its Upload-Offset/),
      });
      const offset = await headOffset(url);
      expect(offset).toBe(9 * MiB);
      expect((await manifestOf(base)).files).toMatchObject([
        { name: "cut.jpg", state: "receiving", receivedBytes: TUS_PART_BYTES },
      ]);
      expect((await patch(url, offset, file.slice(offset))).status).toBe(204);
      const m = await manifestOf(base);
      expect(m.files).toMatchObject([{ name: "cut.jpg", size: file.length, state: "staged", format: "jpeg" }]);
    },
  );

  it("refuses a non-image at the first PATCH and an oversize file at creation, recording both", async () => {
    const { base, manifest } = await newSession();
    const url = (await createUpload(base, "fake.png", 1000)).headers.get("Location") ?? "";
    const fake = await patch(url, 0, new Uint8Array(1000));
    expect(fake.status).toBe(415);
    expect(((await fake.json()) as { error: string }).error).toMatch(/does not contain a PNG image/);
    const big = await createUpload(base, "huge.png", manifest.limits.file_max_bytes + 1);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toMatch(/UPLOAD_FILE_MAX_BYTES/);
    expect((await createUpload(base, "x.png", 10, { "Upload-Metadata": "" })).status).toBe(400);
    expect((await createUpload(base, "x.png", 10, { "Upload-Metadata": "filename !!!" })).status).toBe(400);
    const deferred = await SELF.fetch(`${base}/tus/`, {
      method: "POST",
      headers: { ...TUS, "Upload-Defer-Length": "1", "Upload-Metadata": `filename ${b64("d.png")}` },
    });
    expect(deferred.status).toBe(400);
    const m = await manifestOf(base);
    expect(m.files).toEqual([]);
    expect(m.rejected.map((r) => r.name)).toEqual(["fake.png", "huge.png"]);
    // The session is not poisoned: a good file still goes through.
    const good = image("png", 2000, 9);
    const goodUrl = (await createUpload(base, "fake.png", good.length)).headers.get("Location") ?? "";
    expect((await patch(goodUrl, 0, good)).status).toBe(204);
    expect((await manifestOf(base)).rejected.map((r) => r.name)).toEqual(["huge.png"]);
  });

  it("terminates an unfinished upload and removes what it stored", async () => {
    const { base, tokenHash } = await newSession();
    const file = image("webp", 9 * MiB, 5);
    const url = (await createUpload(base, "gone.webp", file.length + 10)).headers.get("Location") ?? "";
    expect((await patch(url, 0, file)).status).toBe(204);
    const removed = await SELF.fetch(url, { method: "DELETE", headers: TUS });
    expect(removed.status).toBe(204);
    expect((await SELF.fetch(url, { method: "HEAD", headers: TUS })).status).toBe(404);
    expect((await manifestOf(base)).files).toEqual([]);
    expect((await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` })).objects).toEqual([]);
  });

  it("forwards a tus upload with finalize like any other staged file", async () => {
    const { base, tokenHash } = await newSession("ds");
    const stub = sessionStub(env, tokenHash);
    const arrived: Array<{ filename: string; data: string }> = [];
    const toolkit: ToolkitTransport = {
      kind: "direct",
      target: "http://127.0.0.1:9",
      fetch: async (_path, init = {}) => {
        const body = JSON.parse(await new Response(init.body).text()) as {
          tool: string;
          arguments: { images: Array<{ filename: string; data: string }> };
        };
        if (body.tool === "list_datasets")
          return Response.json({
            success: true,
            result: { datasets: [{ name: "ds", images: arrived.length }] },
            error: null,
          });
        arrived.push(...body.arguments.images);
        return uploadedAnswer(body.arguments.images.length);
      },
    };
    await runInDurableObject(stub, (instance: UploadSession) => {
      instance.upstream = new BridgeUpstream(new ToolkitClient(toolkit, 5000));
    });
    const file = image("png", 3000, 6);
    const url = (await createUpload(base, "tus.png", file.length)).headers.get("Location") ?? "";
    expect((await patch(url, 0, file.slice(0, 7))).status).toBe(204);
    expect((await patch(url, 7, file.slice(7))).status).toBe(204);
    expect((await SELF.fetch(`${base}/finalize`, { method: "POST" })).status).toBe(202);
    await runDurableObjectAlarm(stub);
    await expect.poll(async () => (await manifestOf(base)).state, { timeout: 5000 }).toBe("complete");
    expect(arrived.map((i) => i.filename)).toEqual(["tus.png"]);
    expect(Uint8Array.from(atob(arrived[0]!.data), (c) => c.charCodeAt(0))).toEqual(file);
  });
});
