// The UI stand-in's dataset routes: name cleaning, uploads, listing, captions, deletion.

import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { type Harness, removeSandbox, startHarness } from "./helpers.ts";

let h: Harness;
let datasets: string;

beforeAll(async () => {
  h = await startHarness();
  datasets = path.join(h.dataDir, "datasets");
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

function upload(datasetName: string | null, files: Array<[string, string]>): Promise<Response> {
  const form = new FormData();
  if (datasetName !== null) form.append("datasetName", datasetName);
  for (const [name, content] of files) form.append("files", new Blob([content], { type: "image/jpeg" }), name);
  return h.fetch("/api/datasets/upload", { method: "POST", body: form });
}

describe("datasets", () => {
  it("lists a plain array, creating the folder when missing", async () => {
    expect(await h.json("/api/datasets/list")).toEqual([]);
    expect(await readdir(datasets)).toEqual([]);
  });

  it("cleans names to lower snake case like the source", async () => {
    expect(await h.post("/api/datasets/create", { name: "My Set!" })).toEqual({ success: true, name: "my_set_" });
    expect(await h.post("/api/datasets/create", { name: "../Évasion 2" })).toEqual({
      success: true,
      name: "_vasion_2",
    });
    expect(await h.post("/api/datasets/create", { name: "my_set_" })).toEqual({ success: true, name: "my_set_" });
    const failed = await h.fetch("/api/datasets/create", { method: "POST", body: JSON.stringify({ name: 5 }) });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toEqual({ error: "Failed to create dataset" });
    expect((await h.json<string[]>("/api/datasets/list")).sort()).toEqual(["_vasion_2", "my_set_"]);
  });

  it("uploads files with cleaned names and lists them", async () => {
    const response = await upload("my_set_", [
      ["cat photo (1).jpg", "one"],
      ["ünïcode.PNG", "two"],
      ["../../escape.jpg", "three"],
    ]);
    expect(await response.json()).toEqual({
      message: "Files uploaded successfully",
      files: ["cat_photo__1_.jpg", "_n_code.PNG", ".._.._escape.jpg"],
    });
    expect(await readFile(path.join(datasets, "my_set_", "cat_photo__1_.jpg"), "utf8")).toBe("one");
    const noFiles = await upload("my_set_", []);
    expect(noFiles.status).toBe(400);
    expect(await noFiles.json()).toEqual({ error: "No files provided" });
    expect((await upload(null, [["a.jpg", "x"]])).status).toBe(500);

    const listed = await h.fetch("/api/datasets/listImages", {
      method: "POST",
      body: JSON.stringify({ datasetName: "my_set_" }),
      headers: { "accept-encoding": "identity" },
    });
    expect(await listed.json()).toEqual({
      root: path.join(datasets, "my_set_") + path.sep,
      // The cleaned "../../escape.jpg" starts with a dot: hidden, so not listed.
      images: ["_n_code.PNG", "cat_photo__1_.jpg"],
    });
    const missing = await h.fetch("/api/datasets/listImages", {
      method: "POST",
      body: JSON.stringify({ datasetName: "nope" }),
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "Folder 'nope' not found" });
  });

  it("compresses listImages when asked", async () => {
    const { request } = await import("node:http");
    const body = await new Promise<Buffer>((resolve, reject) => {
      const req = request(
        `${h.server.url}/api/datasets/listImages`,
        {
          method: "POST",
          headers: { authorization: "Bearer test-ui-token", "accept-encoding": "gzip" },
        },
        (res) => {
          expect(res.headers["content-encoding"]).toBe("gzip");
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve(Buffer.concat(chunks)));
        },
      );
      req.on("error", reject);
      req.end(JSON.stringify({ datasetName: "my_set_" }));
    });
    expect(JSON.parse(gunzipSync(body).toString()).images).toHaveLength(2);
  });

  it("writes and reads captions next to the image", async () => {
    const image = path.join(datasets, "my_set_", "cat_photo__1_.jpg");
    expect(await h.post("/api/img/caption", { imgPath: image, caption: "a cat" })).toEqual({ success: true });
    expect(await readFile(path.join(datasets, "my_set_", "cat_photo__1_.txt"), "utf8")).toBe("a cat");
    const caption = await h.fetch("/api/caption/get", { method: "POST", body: JSON.stringify({ imgPath: image }) });
    expect(await caption.text()).toBe("a cat");
    const none = await h.fetch("/api/caption/get", {
      method: "POST",
      body: JSON.stringify({ imgPath: path.join(datasets, "my_set_", "x.jpg") }),
    });
    expect([none.status, await none.text()]).toEqual([200, ""]);
    const outside = await h.fetch("/api/caption/get", {
      method: "POST",
      body: JSON.stringify({ imgPath: "/etc/passwd" }),
    });
    expect([outside.status, await outside.text()]).toEqual([403, "Access denied"]);
    const invalid = await h.fetch("/api/img/caption", {
      method: "POST",
      body: JSON.stringify({ imgPath: "/tmp/x.jpg", caption: "x" }),
    });
    expect([invalid.status, await invalid.json()]).toEqual([400, { error: "Invalid image path" }]);
  });

  it("deletes a dataset, and succeeds for a missing one", async () => {
    expect(await h.post("/api/datasets/delete", { name: "_vasion_2" })).toEqual({ success: true });
    expect(await h.post("/api/datasets/delete", { name: "never_was" })).toEqual({ success: true });
    expect(await h.json("/api/datasets/list")).toEqual(["my_set_"]);
    // Upstream would delete the whole ai-toolkit folder here; the stand-in refuses.
    const escape = await h.fetch("/api/datasets/delete", { method: "POST", body: JSON.stringify({ name: ".." }) });
    expect(escape.status).toBe(500);
    expect(await readdir(h.dataDir)).toContain("aitk_db.json");
  });
});
