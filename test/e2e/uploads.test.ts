import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, startStack, type Stack } from "./harness";
import { pool, sha256, testImage } from "./upload-data";

/**
 * A 200+ MB dataset through the real stack: 60 images sent whole and 4 sent in 5 MiB parts,
 * one part cut off midway and resumed, then finalize forwards it to the local toolkit in
 * batches, and every file must be byte-identical in the toolkit's dataset folder.
 */
const MiB = 1024 * 1024;
const PART = 5 * MiB;

interface TestFile {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
  parts: boolean;
}

const files: TestFile[] = [
  ...Array.from({ length: 60 }, (_, i) => ({ name: `img_${String(i).padStart(3, "0")}.${i % 3 === 0 ? "jpg" : "png"}`, bytes: testImage(`whole-${i}`, 3 * MiB + i * 4099, i % 3 === 0 ? "jpeg" : "png"), parts: false })),
  ...Array.from({ length: 4 }, (_, i) => ({ name: `big_${i}.png`, bytes: testImage(`parts-${i}`, 12 * MiB + i * 777), parts: true })),
];

async function put(url: string, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const response = await fetch(url, { method: "PUT", body });
  if (response.status !== 201) throw new Error(`PUT ${url}: ${response.status} ${await response.text()}`);
}

/** Sends half of a part and drops the connection, like a laptop losing Wi-Fi. */
function cutOff(url: string, body: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const req = request(url, { method: "PUT", headers: { "Content-Length": String(body.length) } });
    req.on("error", () => resolve());
    req.write(body.subarray(0, body.length / 2), () => {
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
  });
}

describe("dataset uploads end to end", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
  });

  it("uploads 64 files (228 MB) with one transfer cut off and resumed, finalizes, and the toolkit has every byte", async () => {
    const client = await stack.connect();
    const created = await callTool(client, "create_dataset_upload", { dataset_name: "e2e_big", trigger_word: "sks", default_caption: "a photo" });
    expect(created.isError).toBeFalsy();
    const base = String(created.structuredContent?.upload_url);
    expect(base).toMatch(/\/uploads\/[0-9a-f]{32}$/);

    await pool(files.filter((f) => !f.parts), 6, (f) => put(`${base}/files/${f.name}`, f.bytes));
    await put(`${base}/files/img_000.txt`, new TextEncoder().encode("sks, the first image"));

    const [first, ...others] = files.filter((f) => f.parts);
    if (!first) throw new Error("no multipart files");
    const partsOf = (f: TestFile) => Array.from({ length: Math.ceil(f.bytes.length / PART) }, (_, k) => ({ n: k + 1, body: f.bytes.subarray(k * PART, (k + 1) * PART) }));
    // Part 1 arrives, part 2 is cut off halfway: the session must list only part 1.
    const firstParts = partsOf(first);
    await put(`${base}/files/${first.name}/parts/1`, firstParts[0]!.body);
    await cutOff(`${base}/files/${first.name}/parts/2`, firstParts[1]!.body);
    const status = (await (await fetch(`${base}/files/${first.name}`)).json()) as { parts: Array<{ n: number }> };
    expect(status.parts.map((p) => p.n)).toEqual([1]);
    // Resume: send only what is missing.
    const missing = firstParts.filter((p) => !status.parts.some((q) => q.n === p.n));
    await pool(missing, 3, (p) => put(`${base}/files/${first.name}/parts/${p.n}`, p.body));
    for (const f of [first, ...others]) {
      if (f !== first) await pool(partsOf(f), 3, (p) => put(`${base}/files/${f.name}/parts/${p.n}`, p.body));
      const done = await fetch(`${base}/files/${f.name}/complete`, { method: "POST" });
      expect(done.status, await done.clone().text()).toBe(200);
    }

    const finalize = await fetch(`${base}/finalize`, { method: "POST" });
    expect(finalize.status, await finalize.clone().text()).toBe(202);
    let state = "forwarding";
    let manifest: { state: string; forward: { batchesTotal: number; error?: string; toolkitImages?: number } } | undefined;
    const deadline = Date.now() + 120_000;
    while (state === "forwarding" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      manifest = (await (await fetch(base)).json()) as typeof manifest;
      state = manifest?.state ?? "gone";
    }
    expect(manifest?.forward.error).toBeUndefined();
    expect(state).toBe("complete");
    expect(manifest?.forward.batchesTotal).toBeGreaterThanOrEqual(3);

    const folder = join(stack.dataDir, "datasets", "e2e_big");
    for (const f of files) {
      const onDisk = await readFile(join(folder, f.name));
      expect(sha256(onDisk), f.name).toBe(sha256(f.bytes));
    }
    expect(await readFile(join(folder, "img_000.txt"), "utf8")).toBe("sks, the first image");
    expect(await readFile(join(folder, "img_001.txt"), "utf8")).toBe("sks, a photo");

    const got = await callTool(client, "get_dataset_upload", { upload_url: base });
    expect(got.structuredContent?.state).toBe("complete");
  }, 240_000);

  it("upload_dataset (inline base64) goes through the same staging and forwarding", async () => {
    const client = await stack.connect();
    const bytes = testImage("inline", 20_000);
    const result = await callTool(client, "upload_dataset", {
      dataset_name: "e2e_inline",
      images: [{ filename: "one.png", data: Buffer.from(bytes).toString("base64"), caption: "inline caption" }],
    });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ status: "success", images_saved: 1, images_sent: 1 });
    expect(sha256(await readFile(join(stack.dataDir, "datasets", "e2e_inline", "one.png")))).toBe(sha256(bytes));
  }, 60_000);
});
