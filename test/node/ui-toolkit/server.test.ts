// The UI stand-in's front: auth, settings, the front server's file answers, framing, system.

import { mkdir, writeFile } from "node:fs/promises";
import { request } from "node:http";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { FAKE_HF_TOKEN } from "../../../tunnel/ui-toolkit/settings.ts";
import { type Harness, removeSandbox, startHarness, TOKEN } from "./helpers.ts";

let h: Harness;
let image: string;
const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251));

beforeAll(async () => {
  h = await startHarness({ gpus: 2 });
  image = path.join(h.dataDir, "datasets", "set", "a b.jpg");
  await mkdir(path.dirname(image), { recursive: true });
  await writeFile(image, bytes);
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

/** Raw response head, to see the framing headers fetch hides. */
function rawHead(
  pathname: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${h.server.url}${pathname}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

const fileUrl = (prefix: "files" | "img", file: string): string => `/api/${prefix}/${encodeURIComponent(file)}`;

describe("auth", () => {
  it("needs the bearer token for /api/*, exactly", async () => {
    const none = await h.fetch("/api/jobs", { auth: false });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: "Unauthorized" });
    const wrong = await h.fetch("/api/jobs", { auth: false, headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    expect(await h.json("/api/auth")).toEqual({ isAuthenticated: true });
  });

  it("lets /api/img/ and /api/files/ through without it, as upstream's middleware does", async () => {
    expect((await h.fetch(fileUrl("img", image), { auth: false })).status).toBe(200);
    expect((await h.fetch(fileUrl("files", image), { auth: false })).status).toBe(200);
    const caption = await h.fetch("/api/img/caption", {
      auth: false,
      method: "POST",
      body: JSON.stringify({ imgPath: image, caption: "a cat" }),
    });
    expect(await caption.json()).toEqual({ success: true });
  });
});

describe("settings", () => {
  it("gives the folders and the (fake) HF token", async () => {
    const settings = await h.json<Record<string, string>>("/api/settings");
    expect(settings).toMatchObject({
      HF_TOKEN: FAKE_HF_TOKEN,
      TRAINING_FOLDER: path.join(h.dataDir, "output"),
      DATASETS_FOLDER: path.join(h.dataDir, "datasets"),
      DATA_ROOT: path.join(h.dataDir, "data"),
      MODELS_PATH: path.join(h.dataDir, "models"),
    });
  });
});

describe("front server files", () => {
  it("serves a whole file with Content-Length, attachment for /api/files, inline with ETag for /api/img", async () => {
    const files = await rawHead(fileUrl("files", image));
    expect(files.status).toBe(200);
    expect(files.headers["content-length"]).toBe("1000");
    expect(files.headers["transfer-encoding"]).toBeUndefined();
    expect(files.headers["accept-ranges"]).toBe("bytes");
    expect(files.headers["content-disposition"]).toBe('attachment; filename="a%20b.jpg"');
    expect(files.body.equals(bytes)).toBe(true);
    const img = await rawHead(fileUrl("img", image));
    expect(img.headers["content-type"]).toBe("image/jpeg");
    expect(img.headers["content-disposition"]).toBeUndefined();
    const etag = String(img.headers.etag);
    expect(etag).toMatch(/^W\/"/);
    expect((await rawHead(fileUrl("img", image), { "if-none-match": etag })).status).toBe(304);
  });

  it("answers ranges with 206 and impossible ones with 416", async () => {
    const part = await rawHead(fileUrl("files", image), { range: "bytes=10-19" });
    expect(part.status).toBe(206);
    expect(part.headers["content-range"]).toBe("bytes 10-19/1000");
    expect(part.headers["content-length"]).toBe("10");
    expect(part.body.equals(bytes.subarray(10, 20))).toBe(true);
    const open = await rawHead(fileUrl("files", image), { range: "bytes=990-" });
    expect(open.headers["content-range"]).toBe("bytes 990-999/1000");
    expect(open.body.length).toBe(10);
    for (const range of ["bytes=1000-", "bytes=20-10", "bytes=-5"]) {
      const bad = await rawHead(fileUrl("files", image), { range });
      expect(bad.status, range).toBe(416);
      expect(bad.headers["content-range"]).toBe("bytes */1000");
    }
    const head = await h.fetch(fileUrl("files", image), { method: "HEAD", headers: { range: "bytes=0-99" } });
    expect(head.status).toBe(206);
    expect(head.headers.get("content-length")).toBe("100");
  });

  it("refuses anything outside the folders with 403 (and DATA_ROOT for /api/files)", async () => {
    for (const target of [
      "/etc/passwd",
      path.join(h.dataDir, "aitk_db.json"),
      `${h.dataDir}/datasets/../aitk_db.json`,
    ]) {
      const response = await h.fetch(fileUrl("files", target), { auth: false });
      expect(response.status, target).toBe(403);
      expect(await response.text()).toBe("Access denied");
    }
    const inData = path.join(h.dataDir, "data", "images", "x.jpg");
    await mkdir(path.dirname(inData), { recursive: true });
    await writeFile(inData, bytes);
    expect((await h.fetch(fileUrl("files", inData))).status).toBe(403);
    expect((await h.fetch(fileUrl("img", inData))).status).toBe(200);
    expect((await h.fetch(fileUrl("files", path.join(h.dataDir, "datasets", "nope.jpg")))).status).toBe(404);
  });

  it("decodes the path segment by segment and serves the image itself for ?thumb without a thumbnail", async () => {
    const split =
      `/api/img/${encodeURIComponent(path.dirname(image))}` + `/${encodeURIComponent(path.basename(image))}?thumb=1`;
    const response = await h.fetch(split);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });
});

describe("Next.js framing and routing", () => {
  it("sends JSON chunked, 404 pages for unknown routes, 405 for unexported methods", async () => {
    const jobs = await rawHead("/api/jobs", { authorization: `Bearer ${TOKEN}` });
    expect(jobs.headers["transfer-encoding"]).toBe("chunked");
    expect(jobs.headers["content-length"]).toBeUndefined();
    expect(jobs.headers["content-type"]).toBe("application/json");
    expect((await h.fetch("/api/nothing")).status).toBe(404);
    expect((await h.fetch("/api/queue", { method: "POST" })).status).toBe(405);
  });
});

describe("system", () => {
  it("reports fake GPUs and the CPU", async () => {
    const gpu = await h.json<{ hasNvidiaSmi: boolean; gpus: Array<{ index: number; memory: { total: number } }> }>(
      "/api/gpu",
    );
    expect(gpu.hasNvidiaSmi).toBe(true);
    expect(gpu.gpus.map((g) => g.index)).toEqual([0, 1]);
    const cpu = await h.json<{ cores: number; totalMemory: number }>("/api/cpu");
    expect(cpu.cores).toBeGreaterThan(0);
    expect(cpu.totalMemory).toBeGreaterThan(0);
  });

  it("answers upstream's no-nvidia-smi shape by default", async () => {
    const bare = await startHarness({ token: undefined }, h.sandbox + "-bare");
    try {
      expect(await bare.json("/api/gpu")).toEqual({
        hasNvidiaSmi: false,
        isMac: false,
        gpus: [],
        error: "nvidia-smi not found or not accessible",
      });
    } finally {
      await bare.close();
      await removeSandbox(bare.sandbox);
    }
  });
});
