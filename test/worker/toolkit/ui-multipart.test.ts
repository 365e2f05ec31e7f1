import { describe, expect, it } from "vitest";
import { UploadBodyError } from "../../../src/toolkit/errors";
import { UiClient } from "../../../src/toolkit/ui/client";
import { createMultipartBody, multipartLength, type MultipartPart } from "../../../src/toolkit/ui/multipart";
import { datasetUploadLength, type UiUploadImage } from "../../../src/toolkit/ui/upload";
import { failureOf, json, ScriptedUi } from "./ui-scripted";

/** `size` random-ish bytes, every value 0-255 (CR, LF and "-" among them), from a stream in small chunks. */
function bytes(size: number, seed = 7): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed * 17 + (i >> 3)) & 0xff);
}

function streamOf(data: Uint8Array, chunk = 1000): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= data.length) return controller.close();
      controller.enqueue(data.slice(at, at + chunk));
      at += chunk;
    },
  });
}

/** A digest to compare bytes by (vitest compares big arrays element by element, slowly). */
async function digest(data: ArrayBuffer | Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return `${data.byteLength}:${Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("")}`;
}

async function drain(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}

/** Parses a body the way a server does: workerd's own multipart/form-data parser. */
async function parse(body: BodyInit, contentType: string): Promise<FormData> {
  return new Request("http://ui.test/api/datasets/upload", {
    method: "POST",
    body,
    headers: { "Content-Type": contentType },
  }).formData();
}

describe("createMultipartBody", () => {
  it("round-trips fields, streamed files and in-memory files, with the exact length", async () => {
    const image = bytes(70_000);
    const parts: MultipartPart[] = [
      { name: "datasetName", value: "my_set" },
      {
        name: "files",
        filename: "cat_01.png",
        contentType: "image/png",
        size: image.length,
        open: async () => streamOf(image),
      },
      {
        name: "files",
        filename: "cat_01.txt",
        contentType: "text/plain; charset=utf-8",
        data: new TextEncoder().encode("a photo of sks cat\r\n--not a boundary"),
      },
      { name: "files", filename: "empty.png", size: 0, open: async () => streamOf(new Uint8Array(0)) },
    ];
    const { body, length, contentType } = createMultipartBody(parts);
    const produced = await drain(body);
    expect(produced.length).toBe(length);
    expect(multipartLength(parts)).toBe(length);

    const form = await parse(produced, contentType);
    expect(form.get("datasetName")).toBe("my_set");
    const files = form.getAll("files") as File[];
    expect(files.map((file) => file.name)).toEqual(["cat_01.png", "cat_01.txt", "empty.png"]);
    expect(await digest(await files[0]!.arrayBuffer())).toBe(await digest(image));
    expect(await files[1]!.text()).toBe("a photo of sks cat\r\n--not a boundary");
    expect(files[2]!.size).toBe(0);
  });

  it("keeps quotes, CR and LF in names from ending the header", async () => {
    const evil = 'a"; name="datasetName\r\nX-Injected: 1\r\n\r\n.png';
    const { body, contentType } = createMultipartBody([
      { name: "files", filename: evil, data: new Uint8Array([1, 2, 3]) },
    ]);
    const produced = await drain(body);
    const head = new TextDecoder().decode(produced.subarray(0, 200));
    expect(head).not.toContain("X-Injected: 1\r\n");
    expect(head).toContain('filename="a%22; name=%22datasetName%0D%0AX-Injected: 1%0D%0A%0D%0A.png"');
    const form = await parse(produced, contentType);
    expect([...form.keys()]).toEqual(["files"]);
    expect(form.get("datasetName")).toBeNull();
  });

  it("uses a fresh boundary found in no header or known content", () => {
    const a = createMultipartBody([{ name: "datasetName", value: "x" }]);
    const b = createMultipartBody([{ name: "datasetName", value: "x" }]);
    expect(a.boundary).not.toBe(b.boundary);
    expect(a.boundary).toMatch(/^aitk-[0-9a-f]{40}$/);
  });

  it.each([
    [10, 9, /ended after 9 bytes but its declared size is 10/],
    [10, 11, /has more bytes than its declared size of 10/],
  ])("fails a file declared as %i bytes that yields %i", async (size, actual, message) => {
    const { body } = createMultipartBody([
      { name: "files", filename: "x.png", size, open: async () => streamOf(bytes(actual)) },
    ]);
    const error = await drain(body).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UploadBodyError);
    expect((error as Error).message).toMatch(message);
  });

  it("opens a file only when the body reaches it", async () => {
    const opened: string[] = [];
    const part = (name: string): MultipartPart => ({
      name: "files",
      filename: name,
      size: 3,
      open: async () => (opened.push(name), streamOf(bytes(3))),
    });
    const { body } = createMultipartBody([part("a.png"), part("b.png")]);
    const reader = body.getReader();
    await reader.read(); // a's headers
    expect(opened).toEqual([]);
    await reader.read(); // a's bytes
    expect(opened).toEqual(["a.png"]);
    await reader.cancel();
  });
});

describe("uploadDataset", () => {
  const image = (name: string, data: Uint8Array, caption?: string): UiUploadImage => ({
    name,
    size: data.length,
    open: async () => streamOf(data),
    caption,
  });

  it(
    "sends images and captions as .txt files in one request with Content-Length, and checks what the UI " + "stored",
    async () => {
      let received: FormData | undefined;
      let contentLength: string | null = null;
      const ui = new ScriptedUi().on("POST /api/datasets/upload", async (request) => {
        contentLength = request.headers.get("content-length");
        received = await request.formData();
        const files = (received.getAll("files") as File[]).map((file) => file.name.replace(/[^a-zA-Z0-9.-]/g, "_"));
        return Response.json({ message: "Files uploaded successfully", files });
      });
      const a = bytes(5000, 1);
      const b = bytes(3000, 2);
      const images = [image("holiday photo (1).jpg", a, "a photo of sks"), image("b.png", b)];
      const result = await new UiClient(ui, { token: "t", timeoutMs: 1000, gpuIds: "0" }).uploadDataset(
        "my_set",
        images,
      );
      expect(result.files).toEqual(["holiday_photo__1_.jpg", "holiday_photo__1_.txt", "b.png"]);
      expect(contentLength).toBe(String(datasetUploadLength("my_set", images)));
      expect(received?.get("datasetName")).toBe("my_set");
      const files = received?.getAll("files") as File[];
      expect(await digest(await files[0]!.arrayBuffer())).toBe(await digest(a));
      expect(await files[1]!.text()).toBe("a photo of sks");
      expect(await digest(await files[2]!.arrayBuffer())).toBe(await digest(b));
    },
  );

  it("refuses names the UI would store alike, before sending", async () => {
    const ui = new ScriptedUi();
    const client = new UiClient(ui, { timeoutMs: 1000, gpuIds: "0" });
    await expect(client.uploadDataset("s", [image("a b.png", bytes(1)), image("a_b.png", bytes(1))])).rejects.toThrow(
      /would both be stored as a_b\.png/,
    );
    await expect(
      client.uploadDataset("s", [image("a.png", bytes(1), "x"), image("a.jpg", bytes(1), "y")]),
    ).rejects.toThrow(/a\.txt/);
    await expect(client.uploadDataset("../x", [image("a.png", bytes(1))])).rejects.toThrow(/dataset name/);
    expect(ui.calls).toHaveLength(0);
  });

  it("explains a body too large for the tunnel", async () => {
    const ui = new ScriptedUi().on(
      "POST /api/datasets/upload",
      () => new Response("<html>413 Request Entity Too Large</html>", { status: 413 }),
    );
    const error = await failureOf(
      new UiClient(ui, { timeoutMs: 1000, gpuIds: "0" }).uploadDataset("s", [image("a.png", bytes(4))]),
    );
    expect(error).toMatchObject({ status: 413, hop: "tunnel" });
    expect(error.message).toMatch(/too large .*send fewer files per request/);
  });

  it("reports files the UI did not store", async () => {
    const ui = new ScriptedUi().on(
      "POST /api/datasets/upload",
      async (request) => (await request.arrayBuffer(), json({ files: ["a.png"] })()),
    );
    const client = new UiClient(ui, { timeoutMs: 1000, gpuIds: "0" });
    const error = await failureOf(client.uploadDataset("s", [image("a.png", bytes(4)), image("b.png", bytes(4))]));
    expect(error.message).toMatch(/stored 1 of the 2 files sent to s \(missing: b\.png\)/);
  });
});
