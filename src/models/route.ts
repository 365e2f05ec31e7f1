/**
 * GET/HEAD /downloads/<object key>?expires=<unix s>&sig=<hex>: serves a staged model from R2
 * to whoever holds a valid signed link (a browser, curl, a download manager). Ranges make
 * cut-off downloads resumable (`curl -C -`), which matters for files of hundreds of MB.
 */

import { Hono } from "hono";
import { readConfig } from "../config";
import { DOWNLOAD_ROUTE, linkProblem as problem, linkTerms, signingKey, verify } from "./links";
import { isExpired } from "./staged";
import { attachment } from "./stage";

export const downloadRoutes = new Hono<{ Bindings: Env }>();

const AGAIN = "call download_model again for a fresh link";

/** Hono sends HEAD requests to GET handlers; the handler answers HEAD without reading the body. */
downloadRoutes.get(`${DOWNLOAD_ROUTE}*`, async (c) => {
  const url = new URL(c.req.url);
  const key = objectKey(url.pathname);
  const now = Date.now();
  const terms = linkTerms(url, "download", AGAIN, now);
  if (!key) return problem(403, `This download link is incomplete or was altered: ${AGAIN}.`);
  if ("refused" in terms) return terms.refused;
  const { expires, sig } = terms;
  const config = readConfig(c.env);
  if (!(await verify(await signingKey(config, c.env), key, expires, sig))) {
    return problem(403, `This download link's signature is not valid (altered, or the signing key changed): ${AGAIN}.`);
  }

  const bucket = c.env.STAGING;
  const object = await bucket.head(key);
  if (!object)
    return problem(404, `This model is no longer staged (it expired or was replaced by a newer copy): ${AGAIN}.`);
  if (isExpired(object.customMetadata?.expiresAt, now)) {
    // Lazy expiry: the first request after the staged copy's time is up removes it.
    await bucket.delete(key);
    return problem(
      404,
      `This staged model expired at ${object.customMetadata?.expiresAt ?? "an unknown time"}: ${AGAIN}.`,
    );
  }

  const size = object.size;
  const headers = new Headers({
    "Content-Type": object.httpMetadata?.contentType ?? "application/octet-stream",
    "Content-Disposition": attachment(object.customMetadata?.filename ?? key.slice(key.lastIndexOf("/") + 1)),
    "Accept-Ranges": "bytes",
    ETag: object.httpEtag,
    // The link is a credential: keep it (and the file) out of shared caches.
    "Cache-Control": "private, no-store",
  });

  const ifRange = c.req.header("If-Range");
  const rangeHeader = ifRange === undefined || ifRange === object.httpEtag ? c.req.header("Range") : undefined;
  const range = parseRange(rangeHeader, size);
  if (range === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${size}`);
    headers.delete("Content-Disposition");
    return new Response(`The requested range is outside the file (${size} bytes).\n`, { status: 416, headers });
  }

  const status = range ? 206 : 200;
  const offset = range?.start ?? 0;
  const length = range ? range.end - range.start + 1 : size;
  headers.set("Content-Length", String(length));
  if (range) headers.set("Content-Range", `bytes ${range.start}-${range.end}/${size}`);
  if (c.req.method === "HEAD") return new Response(null, { status, headers });

  const body = await bucket.get(key, length === size ? {} : { range: { offset, length } });
  if (!body) return problem(404, `This model is no longer staged (it was replaced while you asked): ${AGAIN}.`);
  return new Response(body.body, { status, headers });
});

/** The R2 key from the path, each segment decoded (the link encodes them). */
function objectKey(pathname: string): string | undefined {
  try {
    const key = pathname.slice(DOWNLOAD_ROUTE.length).split("/").map(decodeURIComponent).join("/");
    return key.startsWith("models/") ? key : undefined;
  } catch {
    return undefined;
  }
}

export interface ByteRange {
  start: number;
  /** Inclusive, like the Range header. */
  end: number;
}

/**
 * One `bytes=` range (RFC 9110 §14.1.2): `a-b`, `a-` or `-n`. No header, another unit or a
 * multi-range request gives undefined (serve the whole file, which the RFC allows);
 * a range that starts past the end gives "unsatisfiable" (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const match = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header.trim());
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== "" && Number(last) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { start, end };
}
