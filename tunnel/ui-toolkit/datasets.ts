// The dataset routes (ui/src/app/api/datasets/**).
//
// - list: a plain array of the folder names in DATASETS_FOLDER (hidden ones left out), the
//   folder created when missing.
// - create: the name is cleaned to `name.toLowerCase().replace(/[^a-z0-9]+/g, "_")`, so
//   "My Set!" becomes "my_set_"; creating an existing one is fine.
// - upload: multipart `datasetName` and repeated `files`, parsed whole in memory by the same
//   Fetch `formData()` Next.js uses; each file name is cleaned with `/[^a-zA-Z0-9.-]/g -> "_"`
//   (the dataset name is not cleaned at all).
// - listImages: `{root, images}`, root with a trailing separator, images relative to it, sorted,
//   recursive, skipping hidden entries and `_controls`; gzip or brotli when the client accepts it.
// - delete: removes the folder; a missing one is a success.
//
// Where the upstream routes would write or delete outside the folders because of a `..` in a
// name, this stand-in refuses (the route's own 500) once the target leaves its data folder and
// the configured folders.

import { existsSync, mkdirSync, rmSync } from "node:fs";
import { access, mkdir, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import zlib from "node:zlib";

import { type Answer, type ApiRequest, json, type Router } from "./http.ts";
import type { Settings } from "./settings.ts";

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

const MEDIA = [
  ".png",
  ".jpg",
  ".jpeg",
  ".webp",
  ".mp4",
  ".avi",
  ".mov",
  ".mkv",
  ".wmv",
  ".m4v",
  ".flv",
  ".mp3",
  ".wav",
  ".flac",
  ".ogg",
];

/** `request.formData()`: the whole body parsed by Node's Fetch implementation. */
export async function formData(req: ApiRequest): Promise<FormData> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const request = new Request(req.url, {
    method: req.method,
    headers,
    body: Readable.toWeb(req.raw) as ReadableStream<Uint8Array>,
    duplex: "half",
  } as RequestInit);
  return request.formData();
}

async function findMedia(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const found: string[] = [];
  const subdirs: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const item = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "_controls") subdirs.push(item);
    } else if (entry.isFile() && MEDIA.includes(path.extname(entry.name).toLowerCase())) {
      found.push(item);
    }
  }
  const nested = await Promise.all(subdirs.map(findMedia));
  return found.concat(...nested);
}

async function listImages(req: ApiRequest, settings: Settings): Promise<Answer> {
  const root = settings.datasetsFolder();
  const { datasetName } = (await req.json()) as { datasetName: string };
  const folder = path.join(root, datasetName);
  try {
    try {
      await access(folder);
    } catch {
      return json({ error: `Folder '${datasetName}' not found` }, 404);
    }
    const images = await findMedia(folder);
    images.sort((a, b) => a.localeCompare(b));
    const prefix = folder + path.sep;
    const body = JSON.stringify({ root: prefix, images: images.map((image) => image.slice(prefix.length)) });
    const accepted = String(req.headers["accept-encoding"] ?? "");
    if (/\bbr\b/.test(accepted)) {
      return {
        status: 200,
        headers: { "content-type": "application/json", "content-encoding": "br" },
        body: await brotli(body),
      };
    }
    if (/\bgzip\b/.test(accepted)) {
      return {
        status: 200,
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: await gzip(body),
      };
    }
    return { status: 200, headers: { "content-type": "application/json" }, body };
  } catch {
    return json({ error: "Failed to process request" }, 500);
  }
}

async function upload(req: ApiRequest, settings: Settings): Promise<Answer> {
  try {
    const root = settings.datasetsFolder();
    const form = await formData(req);
    const files = form.getAll("files");
    const datasetName = form.get("datasetName") as unknown as string;
    if (files.length === 0) return json({ error: "No files provided" }, 400);
    const uploadDir = path.join(root, datasetName);
    if (!settings.mayTouch(uploadDir)) throw new Error(`refusing to write to ${uploadDir}`);
    await mkdir(uploadDir, { recursive: true });
    const saved: string[] = [];
    for (const file of files as unknown as File[]) {
      const bytes = Buffer.from(await file.arrayBuffer());
      const fileName = file.name.replace(/[^a-zA-Z0-9.-]/g, "_");
      await writeFile(path.join(uploadDir, fileName), bytes);
      saved.push(fileName);
    }
    return json({ message: "Files uploaded successfully", files: saved });
  } catch {
    return json({ error: "Error uploading files" }, 500);
  }
}

export function addDatasetRoutes(router: Router, settings: Settings): void {
  router.add("GET", "/api/datasets/list", async () => {
    try {
      const root = settings.datasetsFolder();
      try {
        await access(root);
      } catch {
        await mkdir(root);
      }
      const entries = await readdir(root, { withFileTypes: true });
      return json(
        entries.filter((entry) => entry.isDirectory() && !entry.name.startsWith(".")).map((entry) => entry.name),
      );
    } catch {
      return json({ error: "Failed to fetch datasets" }, 500);
    }
  });

  router.add("POST", "/api/datasets/create", async (req) => {
    try {
      const body = (await req.json()) as { name: string };
      const name = body.name.toLowerCase().replace(/[^a-z0-9]+/g, "_");
      const folder = path.join(settings.datasetsFolder(), name);
      if (!existsSync(folder)) mkdirSync(folder);
      return json({ success: true, name });
    } catch {
      return json({ error: "Failed to create dataset" }, 500);
    }
  });

  router.add("POST", "/api/datasets/upload", async (req) => upload(req, settings));
  router.add("POST", "/api/datasets/listImages", async (req) => listImages(req, settings));

  router.add("POST", "/api/datasets/delete", async (req) => {
    try {
      const { name } = (await req.json()) as { name: string };
      const folder = path.join(settings.datasetsFolder(), name);
      if (!existsSync(folder)) return json({ success: true });
      if (!settings.mayTouch(folder)) throw new Error(`refusing to delete ${folder}`);
      rmSync(folder, { recursive: true, force: true });
      return json({ success: true });
    } catch {
      return json({ error: "Failed to delete dataset" }, 500);
    }
  });
}
