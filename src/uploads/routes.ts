import { Hono, type Context } from "hono";
import { readConfig } from "../config";
import { acceptPart, acceptWhole, completeFile, readSmallText } from "./receive/http";
import { sanitizeFilename, stemOf } from "./rules";
import { uploadPage } from "./page/page";
import { hashToken, TOKEN_PATTERN } from "./create";
import { sessionStub } from "./session";
import { mountTus } from "./receive/tus-routes";
import { refuse, type Outcome } from "./types";

/** Cloudflare refuses request bodies over 100 MB (Free and Pro plans); bigger files go in parts. */
export const MAX_REQUEST_BYTES = 100 * 1000 * 1000;

export type UploadEnv = { Bindings: Env; Variables: { tokenHash: string } };

/**
 * The upload HTTP API, under /uploads/<token>. Public on purpose: the 128-bit token in the
 * URL is the credential (people upload from curl or a browser that has no OAuth client), so
 * a wrong or unknown token gets the same 404 as an expired one and reveals nothing.
 */
export const uploadRoutes = new Hono<UploadEnv>();

uploadRoutes.use("/:token/*", authorize);
uploadRoutes.use("/:token", authorize);

async function authorize(c: Context<UploadEnv>, next: () => Promise<void>) {
  const token = c.req.param("token") ?? "";
  if (!TOKEN_PATTERN.test(token))
    return c.json(
      { error: "there is no upload session at this URL: ask for a new one with the create_dataset_upload tool" },
      404,
    );
  c.set("tokenHash", await hashToken(token));
  c.header("Cache-Control", "no-store");
  c.header("Referrer-Policy", "no-referrer");
  await next();
}

uploadRoutes.get("/:token", async (c) => answer(c, await sessionStub(c.env, c.var.tokenHash).manifest()));

uploadRoutes.get("/:token/page", async (c) => {
  const manifest = await sessionStub(c.env, c.var.tokenHash).manifest();
  if (!manifest.ok) return answer(c, manifest);
  return c.html(uploadPage(manifest.value.dataset_name));
});

uploadRoutes.put("/:token/files/:filename", async (c) => {
  const length = requestLength(c);
  if (typeof length !== "number") return length;
  return answer(c, await acceptWhole(c.env, c.var.tokenHash, c.req.param("filename"), bodyOf(c), length), 201);
});

uploadRoutes.put("/:token/files/:filename/parts/:n", async (c) => {
  const length = requestLength(c);
  if (typeof length !== "number") return length;
  const n = Number(c.req.param("n"));
  return answer(c, await acceptPart(c.env, c.var.tokenHash, c.req.param("filename"), n, bodyOf(c), length), 201);
});

uploadRoutes.get("/:token/files/:filename", async (c) =>
  answer(c, await sessionStub(c.env, c.var.tokenHash).fileStatus(c.req.param("filename"))),
);

uploadRoutes.post("/:token/files/:filename/complete", async (c) =>
  answer(c, await completeFile(c.env, c.var.tokenHash, c.req.param("filename"))),
);

uploadRoutes.delete("/:token/files/:filename", async (c) =>
  answer(c, await sessionStub(c.env, c.var.tokenHash).removeFile(c.req.param("filename"))),
);

/** Sets one image's caption (the page's caption boxes): the body is the caption as plain text. */
uploadRoutes.put("/:token/captions/:filename", async (c) => {
  const raw = c.req.param("filename");
  // The stem of the name the image was stored under: "IMG 1.jpg" is staged as "IMG_1.jpg".
  const stem = stemOf(sanitizeFilename(raw) ?? raw);
  let text: string;
  try {
    // At most 4 UTF-8 bytes a character: anything longer is refused before it is read whole.
    text = await readSmallText(bodyOf(c), readConfig(c.env).UPLOAD_CAPTION_MAX_CHARS * 4, `the caption for ${raw}`);
  } catch (error) {
    if (error instanceof RangeError) return answer(c, refuse(400, error.message));
    throw error;
  }
  return answer(c, await sessionStub(c.env, c.var.tokenHash).setCaptions([{ stem, text }], "page"));
});

mountTus(uploadRoutes);

uploadRoutes.post("/:token/finalize", async (c) =>
  answer(c, await sessionStub(c.env, c.var.tokenHash).finalize(), 202),
);

uploadRoutes.delete("/:token", async (c) => {
  const result = await sessionStub(c.env, c.var.tokenHash).abandon();
  return result.ok ? c.json({ deleted: true }) : answer(c, result);
});

function requestLength(c: Context<UploadEnv>): number | Response {
  const header = c.req.header("content-length");
  const length = header === undefined ? NaN : Number(header);
  if (!Number.isSafeInteger(length) || length < 0) {
    return c.json(
      {
        error: "send a Content-Length header (curl -T does): the Worker streams the body to R2 and must know its size",
      },
      411,
    );
  }
  if (length > MAX_REQUEST_BYTES) {
    return c.json(
      {
        error:
          `one request may carry at most ${MAX_REQUEST_BYTES} bytes: send this file in parts (PUT ` +
          `.../files/<name>/parts/<n>, then POST .../files/<name>/complete)`,
      },
      413,
    );
  }
  if (length === 0) return c.json({ error: "the body is empty: send the file's bytes" }, 400);
  return length;
}

function bodyOf(c: Context<UploadEnv>): ReadableStream<Uint8Array> {
  return c.req.raw.body ?? new ReadableStream({ start: (controller) => controller.close() });
}

function answer<T>(c: Context<UploadEnv>, outcome: Outcome<T>, status: 200 | 201 | 202 = 200): Response {
  if (outcome.ok) return c.json(outcome.value as object, status);
  return errorResponse(outcome.status, outcome.error);
}

/** A refusal of the upload routes (tus's too): JSON saying what happened and what to do, never cached. */
export function errorResponse(status: number, error: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error }), {
    status,
    headers: { ...headers, "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}
