// The front server's own file answers (ui/cron/fileServer.ts): GET and HEAD of /api/files/* and
// /api/img/* never reach Next.js, so they need no token at all.
//
// - The rest of the URL is decoded segment by segment (`%2Fa%2Fb.jpg` and `%2Fa/b.jpg` are the
//   same file) and resolved; it must lie under the datasets or training folder (/api/img/ also
//   allows DATA_ROOT), else `403 Access denied`.
// - /api/files/ is a download (`Content-Disposition: attachment`), /api/img/ is inline with a weak
//   ETag and 304 revalidation.
// - `Range: bytes=a-b` gives 206 with Content-Range; a start past the end, a start after the end,
//   or an unparsable range gives 416 with `Content-Range: bytes */size`. As upstream, an end past
//   the end of the file is not clamped: the headers then promise more bytes than follow.
// - `?thumb` on /api/img/ serves `<dir>/.thumbs/<name>.jpg` when it exists (the trainer writes one
//   for every sample, as ai-toolkit does). Upstream makes a missing one with sharp or ffmpeg; this
//   stand-in has neither, so it answers the image itself, as upstream does when both are missing.
// - Errors are plain text (`Access denied`, `File not found`, `Not a file`) with chunked framing.

import { createReadStream, type Stats } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import path from "node:path";
import { pipeline } from "node:stream";

import type { Settings } from "./settings.ts";

export const FILE_PREFIXES = ["/api/files/", "/api/img/"] as const;

const CONTENT_TYPES: Record<string, string> = {
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".png": "image/png",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".svg": "image/svg+xml",
  ".bmp": "image/bmp",
  ".safetensors": "application/octet-stream",
  ".zip": "application/zip",
  ".mp4": "video/mp4",
  ".avi": "video/x-msvideo",
  ".mov": "video/quicktime",
  ".mkv": "video/x-matroska",
  ".wmv": "video/x-ms-wmv",
  ".m4v": "video/x-m4v",
  ".flv": "video/x-flv",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".flac": "audio/flac",
  ".ogg": "audio/ogg",
};

/** Which front-server prefix a GET/HEAD request falls under, if any. */
export function filePrefix(method: string | undefined, pathname: string): (typeof FILE_PREFIXES)[number] | undefined {
  if (method !== "GET" && method !== "HEAD") return undefined;
  return FILE_PREFIXES.find((prefix) => pathname.startsWith(prefix));
}

function plain(res: ServerResponse, status: number, body?: string): void {
  res.writeHead(status);
  res.end(body);
}

async function statOrNull(file: string): Promise<Stats | null> {
  try {
    return await stat(file);
  } catch {
    return null;
  }
}

export async function serveFile(
  req: IncomingMessage,
  res: ServerResponse,
  prefix: string,
  settings: Settings,
): Promise<void> {
  try {
    const isImg = prefix === "/api/img/";
    const rawUrl = req.url ?? "";
    const rest = rawUrl.split("?")[0]?.slice(prefix.length) ?? "";
    let target = path.resolve(rest.split("/").map(decodeURIComponent).join("/"));

    const roots = isImg
      ? [settings.datasetsFolder(), settings.trainingFolder(), settings.dataRoot()]
      : [settings.datasetsFolder(), settings.trainingFolder()];
    if (!roots.some((root) => target === root || target.startsWith(root + path.sep))) {
      plain(res, 403, "Access denied");
      return;
    }

    if (isImg && new URL(rawUrl, "http://localhost").searchParams.has("thumb")) {
      const thumb = path.join(path.dirname(target), ".thumbs", `${path.basename(target)}.jpg`);
      const thumbStat = await statOrNull(thumb);
      if (thumbStat?.isFile()) target = thumb;
    }

    const info = await statOrNull(target);
    if (!info) {
      plain(res, 404, "File not found");
      return;
    }
    if (!info.isFile()) {
      plain(res, 400, "Not a file");
      return;
    }

    const headers: OutgoingHttpHeaders = {
      "Content-Type": CONTENT_TYPES[path.extname(target).toLowerCase()] ?? "application/octet-stream",
      "Accept-Ranges": "bytes",
    };
    if (isImg) {
      const etag = `W/"${info.ino.toString(36)}-${info.size.toString(36)}-${info.mtimeMs.toString(36)}"`;
      headers["Cache-Control"] = "public, max-age=86400, immutable";
      headers.ETag = etag;
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { ETag: etag, "Cache-Control": headers["Cache-Control"] });
        res.end();
        return;
      }
    } else {
      headers["Cache-Control"] = "public, max-age=86400";
      headers["Content-Disposition"] = `attachment; filename="${encodeURIComponent(path.basename(target))}"`;
      headers["X-Content-Type-Options"] = "nosniff";
    }

    let start = 0;
    let end = info.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const [first = "", second = ""] = range.replace(/bytes=/, "").split("-");
      start = parseInt(first, 10);
      end = second ? parseInt(second, 10) : info.size - 1;
      if (Number.isNaN(start) || Number.isNaN(end) || start > end || start >= info.size) {
        res.writeHead(416, { "Content-Range": `bytes */${info.size}` });
        res.end();
        return;
      }
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${end}/${info.size}`;
    }
    headers["Content-Length"] = String(end - start + 1);
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    if (res.destroyed) return;
    pipeline(createReadStream(target, { start, end, highWaterMark: 4 * 1024 * 1024 }), res, (error) => {
      if (error) res.destroy();
    });
  } catch {
    if (!res.headersSent) res.writeHead(500);
    res.end();
  }
}
