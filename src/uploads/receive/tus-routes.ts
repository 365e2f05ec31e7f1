import type { Context, Hono } from "hono";
import { stemOf } from "../rules";
import { errorResponse, type UploadEnv } from "../routes";
import { sessionStub } from "../session";
import { patchUpload } from "./tus";

/**
 * tus 1.0 (core protocol plus creation and termination) under <upload URL>/tus/, for clients
 * such as tus-js-client. A tus upload ends as an ordinary staged file of the session: the
 * session admits it, checks its magic number and limits, and finalize forwards it.
 */
const TUS_VERSION = "1.0.0";
const OFFSET_TYPE = "application/offset+octet-stream";

export function mountTus(app: Hono<UploadEnv>): void {
  for (const base of ["/:token/tus", "/:token/tus/"]) {
    app.options(base, discovery);
    app.post(base, create);
  }
  // Hono answers HEAD with the GET route minus its body, which is what tus needs from HEAD.
  app.get("/:token/tus/:id", status);
  app.patch("/:token/tus/:id", patch);
  app.delete("/:token/tus/:id", terminate);
}

async function discovery(c: Context<UploadEnv>): Promise<Response> {
  const limits = await sessionStub(c.env, c.var.tokenHash).limits();
  if (!limits.ok) return problem(limits.status, limits.error);
  return new Response(null, {
    status: 204,
    headers: {
      ...tusHeaders(),
      "Tus-Version": TUS_VERSION,
      "Tus-Extension": "creation,termination",
      "Tus-Max-Size": String(limits.value.file_max_bytes),
    },
  });
}

async function create(c: Context<UploadEnv>): Promise<Response> {
  const wrong = versionProblem(c);
  if (wrong) return wrong;
  if (c.req.header("upload-defer-length") !== undefined)
    return problem(400, "this server needs the size up front: send Upload-Length instead of Upload-Defer-Length");
  const length = Number(c.req.header("upload-length") ?? NaN);
  if (!Number.isSafeInteger(length) || length <= 0)
    return problem(400, "send Upload-Length with the file's size in bytes (a positive whole number)");
  const metadata = parseMetadata(c.req.header("upload-metadata") ?? "");
  if (typeof metadata === "string") return problem(400, metadata);
  const filename = metadata.get("filename");
  if (!filename)
    return problem(
      400,
      "send Upload-Metadata with 'filename <base64 of the name>' (tus-js-client: metadata: { filename })",
    );
  const stub = sessionStub(c.env, c.var.tokenHash);
  const created = await stub.tusCreate(filename, length);
  if (!created.ok) return problem(created.status, created.error);
  const { name } = created.value;
  const caption = metadata.get("caption");
  if (caption !== undefined) {
    const set = await stub.setCaptions([{ stem: stemOf(name), text: caption }], "api");
    if (!set.ok) {
      await stub.tusTerminate(name);
      return problem(set.status, set.error);
    }
  }
  const url = new URL(c.req.url);
  const location = `${url.origin}${url.pathname.replace(/\/$/, "")}/${encodeURIComponent(name)}`;
  return new Response(null, { status: 201, headers: { ...tusHeaders(), Location: location } });
}

async function status(c: Context<UploadEnv>): Promise<Response> {
  const wrong = versionProblem(c);
  if (wrong) return wrong;
  const state = await sessionStub(c.env, c.var.tokenHash).tusState(c.req.param("id") ?? "");
  if (!state.ok) return problem(state.status, state.error);
  return new Response(null, {
    status: 200,
    headers: {
      ...tusHeaders(),
      "Upload-Offset": String(state.value.offset),
      "Upload-Length": String(state.value.length),
    },
  });
}

async function patch(c: Context<UploadEnv>): Promise<Response> {
  const wrong = versionProblem(c);
  if (wrong) return wrong;
  if (c.req.header("content-type") !== OFFSET_TYPE)
    return problem(415, `send the bytes with Content-Type: ${OFFSET_TYPE}`);
  const offset = Number(c.req.header("upload-offset") ?? NaN);
  if (!Number.isSafeInteger(offset) || offset < 0)
    return problem(400, "send Upload-Offset: the offset HEAD reports for this upload");
  const body = c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
  const result = await patchUpload(c.env, c.var.tokenHash, c.req.param("id") ?? "", offset, body);
  if (!result.ok) return problem(result.status, result.error);
  return new Response(null, {
    status: 204,
    headers: { ...tusHeaders(), "Upload-Offset": String(result.value.offset) },
  });
}

async function terminate(c: Context<UploadEnv>): Promise<Response> {
  const wrong = versionProblem(c);
  if (wrong) return wrong;
  const removed = await sessionStub(c.env, c.var.tokenHash).tusTerminate(c.req.param("id") ?? "");
  if (!removed.ok) return problem(removed.status, removed.error);
  return new Response(null, { status: 204, headers: tusHeaders() });
}

function tusHeaders(): Record<string, string> {
  return { "Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store" };
}

/** tus requires 412 with the versions it speaks when a client asks for another. */
function versionProblem(c: Context<UploadEnv>): Response | undefined {
  if (c.req.header("tus-resumable") === TUS_VERSION) return undefined;
  return errorResponse(412, `send Tus-Resumable: ${TUS_VERSION}: this server speaks tus ${TUS_VERSION} only`, {
    ...tusHeaders(),
    "Tus-Version": TUS_VERSION,
  });
}

function problem(status: number, error: string): Response {
  return errorResponse(status, error, tusHeaders());
}

/** Upload-Metadata: comma-separated "key base64value" pairs (the value may be absent); values are UTF-8. */
export function parseMetadata(header: string): Map<string, string> | string {
  const pairs = new Map<string, string>();
  for (const item of header.split(",")) {
    const trimmed = item.trim();
    if (trimmed === "") continue;
    const [key, value, extra] = trimmed.split(" ");
    if (!key || extra !== undefined)
      return `Upload-Metadata ${JSON.stringify(trimmed)} is not 'key base64value': separate pairs with commas`;
    try {
      const bytes = Uint8Array.from(atob(value ?? ""), (ch) => ch.charCodeAt(0));
      pairs.set(key, new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
    } catch {
      return `the Upload-Metadata value of ${key} is not base64 of UTF-8 text: encode it with base64`;
    }
  }
  return pairs;
}
