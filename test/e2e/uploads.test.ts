import { readFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, startStack, type Stack } from "./harness";
import { pool, sha256, testImage } from "./upload-data";

/**
 * A 200+ MB dataset through the real stack: 64 images, every one sent in 5 MiB parts (two or
 * three per file, many files at once), one part cut off midway and resumed, then finalize
 * forwards it to the local toolkit in batches, and every file must be byte-identical in the
 * toolkit's dataset folder.
 */
const MiB = 1024 * 1024;
const PART = 5 * MiB;

interface TestFile {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
}

// Just over one part (so two, the last one small) with varied tails; every 16th file takes three.
const files: TestFile[] = Array.from({ length: 64 }, (_, i) => {
  const jpeg = i % 3 === 0;
  const size = i % 16 === 15 ? 12 * MiB + i * 777 : PART + 1 + ((i * 7919 * 61) % (MiB / 2));
  return {
    name: `img_${String(i).padStart(3, "0")}.${jpeg ? "jpg" : "png"}`,
    bytes: testImage(`parts-${i}`, size, jpeg ? "jpeg" : "png"),
  };
});
const totalBytes = files.reduce((sum, f) => sum + f.bytes.length, 0);

function partsOf(f: TestFile) {
  return Array.from({ length: Math.ceil(f.bytes.length / PART) }, (_, k) => ({
    file: f,
    n: k + 1,
    body: f.bytes.subarray(k * PART, (k + 1) * PART),
  }));
}

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

  it(
    `uploads 64 files (${Math.round(totalBytes / 1e6)} MB) all in parts, with one transfer cut off and ` +
      `resumed, finalizes, and the toolkit has every byte`,
    async () => {
      expect(files.length).toBeGreaterThanOrEqual(60);
      expect(totalBytes).toBeGreaterThanOrEqual(200e6);
      expect(files.every((f) => f.bytes.length > PART)).toBe(true);
      const client = await stack.connect();
      const created = await callTool(client, "create_dataset_upload", {
        dataset_name: "e2e_big",
        trigger_word: "sks",
        default_caption: "a photo",
      });
      expect(created.isError).toBeFalsy();
      const base = String(created.structuredContent?.upload_url);
      expect(base).toMatch(/\/uploads\/[0-9a-f]{32}$/);
      await put(`${base}/files/img_000.txt`, new TextEncoder().encode("sks, the first image"));

      const [first, ...others] = files;
      if (!first) throw new Error("no files");
      // Part 1 arrives, part 2 is cut off halfway: the session must list only part 1.
      const firstParts = partsOf(first);
      await put(`${base}/files/${first.name}/parts/1`, firstParts[0]!.body);
      await cutOff(`${base}/files/${first.name}/parts/2`, firstParts[1]!.body);
      const status = (await (await fetch(`${base}/files/${first.name}`)).json()) as {
        state: string;
        parts: Array<{ n: number }>;
      };
      expect(status.state).toBe("receiving");
      expect(status.parts.map((p) => p.n)).toEqual([1]);

      // Every other file's parts, six requests at a time across files; then the cut-off
      // file resumes by sending only what the session does not list.
      await pool(others.flatMap(partsOf), 6, (p) => put(`${base}/files/${p.file.name}/parts/${p.n}`, p.body));
      const missing = firstParts.filter((p) => !status.parts.some((q) => q.n === p.n));
      expect(missing.map((p) => p.n)).toEqual([2]);
      await pool(missing, 3, (p) => put(`${base}/files/${first.name}/parts/${p.n}`, p.body));
      await pool(files, 6, async (f) => {
        const done = await fetch(`${base}/files/${f.name}/complete`, { method: "POST" });
        if (done.status !== 200) throw new Error(`complete ${f.name}: ${done.status} ${await done.text()}`);
      });

      const before = (await (await fetch(base)).json()) as {
        totals: { images: number; staged_bytes: number; receiving: number };
      };
      expect(before.totals).toMatchObject({ images: 64, staged_bytes: totalBytes, receiving: 0 });

      const finalize = await fetch(`${base}/finalize`, { method: "POST" });
      expect(finalize.status, await finalize.clone().text()).toBe(202);
      let state = "forwarding";
      let manifest:
        { state: string; forward: { batchesTotal: number; error?: string; toolkitImages?: number } } | undefined;
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
    },
    240_000,
  );

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
