// Single images, captions and file deletion (ui/src/app/api/img/{caption,upload,delete},
// ui/src/app/api/caption/{get,getBatch}, ui/src/app/api/files/delete).
//
// Upstream's middleware lets every path starting with /api/img/ or /api/files/ through without
// the token, so POST /api/img/caption, /api/img/upload, /api/img/delete and /api/files/delete
// need none either (server.ts applies that rule; nothing here checks auth).
//
// - img/caption `{imgPath, caption, ext?}`: imgPath must start with DATASETS_FOLDER (a plain
//   string prefix) and exist; writes `<imgPath minus extension>.<ext or txt>`.
// - caption/get `{imgPath, ext?}`: text/plain caption, "" when there is none, 403 outside the
//   datasets folder, 499 when the body is not JSON.
// - img/upload: multipart `files`, saved as `<DATA_ROOT>/images/<uuid>.<ext>`; answers the paths.
// - img/delete `{imgPath}`: an image under the datasets or training folder (prefix check), and
//   its .txt caption.
// - files/delete `{filePath}`: any file under the datasets or training folder.

import { randomUUID } from "node:crypto";
import { access, mkdir, readFile, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";

import { formData } from "./datasets.ts";
import { type Answer, empty, json, type Router, text } from "./http.ts";
import type { Settings } from "./settings.ts";

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

const captionPathOf = (imgPath: string, ext: unknown): string => {
  const captionExt = (typeof ext === "string" && ext ? ext : "txt").replace(/^\.+/, "").trim() || "txt";
  return `${imgPath.replace(/\.[^/.]+$/, "")}.${captionExt}`;
};

function underRoot(file: string, root: string): boolean {
  const resolved = path.resolve(file);
  return resolved === root || resolved.startsWith(root + path.sep);
}

export function addMediaRoutes(router: Router, settings: Settings): void {
  router.add("POST", "/api/img/caption", async (req) => {
    try {
      const { imgPath, caption, ext } = (await req.json()) as { imgPath: string; caption: string; ext?: string };
      if (!imgPath.startsWith(settings.datasetsFolder())) return json({ error: "Invalid image path" }, 400);
      if (!(await exists(imgPath))) return json({ error: "Image does not exist" }, 404);
      const captionPath = captionPathOf(imgPath, ext);
      if (!settings.mayTouch(captionPath)) throw new Error(`refusing to write ${captionPath}`);
      if (typeof caption !== "string") throw new TypeError("caption must be a string");
      await writeFile(captionPath, caption);
      return json({ success: true });
    } catch {
      return json({ error: "Failed to create dataset" }, 500);
    }
  });

  router.add("POST", "/api/caption/get", async (req) => {
    let body: { imgPath: string; ext?: string };
    try {
      body = (await req.json()) as typeof body;
    } catch {
      return empty(499);
    }
    try {
      const { imgPath, ext } = body;
      const captionPath = captionPathOf(imgPath, ext);
      if (!underRoot(imgPath, settings.datasetsFolder())) return text("Access denied", 403);
      try {
        return text(await readFile(captionPath, "utf8"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return text("");
        throw error;
      }
    } catch {
      return text("Error getting caption", 500);
    }
  });

  router.add("POST", "/api/caption/getBatch", async (req) => {
    let body: { imgPaths?: unknown; ext?: string };
    try {
      body = (await req.json()) as typeof body;
    } catch {
      return empty(499);
    }
    if (!Array.isArray(body.imgPaths)) return json({ error: "imgPaths must be an array" }, 400);
    const root = settings.datasetsFolder();
    const captions: Record<string, string> = {};
    await Promise.all(
      body.imgPaths.map(async (imgPath: unknown) => {
        if (typeof imgPath !== "string" || !underRoot(imgPath, root)) return;
        captions[imgPath] = await readFile(captionPathOf(imgPath, body.ext), "utf8").catch(() => "");
      }),
    );
    return json({ captions });
  });

  router.add("POST", "/api/img/upload", async (req) => {
    try {
      const imgRoot = path.join(settings.dataRoot(), "images");
      const files = (await formData(req)).getAll("files") as unknown as File[];
      if (files.length === 0) return json({ error: "No files provided" }, 400);
      await mkdir(imgRoot, { recursive: true });
      const saved = await Promise.all(
        files.map(async (file) => {
          const bytes = Buffer.from(await file.arrayBuffer());
          const target = path.join(imgRoot, `${randomUUID()}.${file.name.split(".").pop() || "jpg"}`);
          await writeFile(target, bytes);
          return target;
        }),
      );
      return json({ message: "Files uploaded successfully", files: saved });
    } catch {
      return json({ error: "Error uploading files" }, 500);
    }
  });

  router.add("POST", "/api/img/delete", async (req) => {
    try {
      const { imgPath } = (await req.json()) as { imgPath: string };
      if (!imgPath.startsWith(settings.datasetsFolder()) && !imgPath.startsWith(settings.trainingFolder())) {
        return json({ error: "Invalid image path" }, 400);
      }
      if (!/\.(jpg|jpeg|png|bmp|gif|tiff|webp|mp4|mp3|wav|flac|ogg)$/i.test(imgPath.toLowerCase())) {
        return json({ error: "Not an image" }, 400);
      }
      if (!(await exists(imgPath))) return json({ success: true });
      if (!settings.mayTouch(imgPath)) throw new Error(`refusing to delete ${imgPath}`);
      await unlink(imgPath);
      const captionPath = `${imgPath.replace(/\.[^/.]+$/, "")}.txt`;
      if (await exists(captionPath)) await unlink(captionPath);
      return json({ success: true });
    } catch {
      return json({ error: "Failed to create dataset" }, 500);
    }
  });

  router.add("POST", "/api/files/delete", async (req): Promise<Answer> => {
    try {
      const { filePath } = (await req.json()) as { filePath?: unknown };
      if (!filePath || typeof filePath !== "string") return text("filePath is required", 400);
      const resolved = path.resolve(decodeURIComponent(filePath));
      const roots = [settings.datasetsFolder(), settings.trainingFolder()];
      if (!roots.some((root) => underRoot(resolved, root))) return text("Access denied", 403);
      let info;
      try {
        info = await stat(resolved);
      } catch {
        return text("File not found", 404);
      }
      if (!info.isFile()) return text("Not a file", 400);
      await unlink(resolved);
      return json({ success: true });
    } catch {
      return text("Internal Server Error", 500);
    }
  });
}
