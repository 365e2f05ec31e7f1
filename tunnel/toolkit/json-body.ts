// JSON answers built whole in memory, then sent in one write with a Content-Length.
//
// That is how the original toolkit answers: it is FastAPI under uvicorn, and every answer is
// one JSONResponse, serialised whole before the first byte goes out (for download_model: the
// file read into memory, base64-encoded, put into the JSON text) and written in one go. A
// reader therefore meets one body of announced length, arriving in whatever pieces the socket
// delivers, never a chunked body or pieces of the server's own choosing. This server does the
// same, so the Worker is tested against the same framing.
//
// The memory cost is the original's too: download_model holds its whole answer (the model's
// size times 4/3, plus the envelope) until it has been sent. One detail differs, and only in
// how the body is built: a file's base64 is encoded into the body buffer a few MiB at a time
// instead of as one string, because a JavaScript string cannot be longer than about 512 MiB
// (a 400 MB model). The bytes are the same as JSON.stringify with the base64 in place.

import { randomUUID } from "node:crypto";
import { open } from "node:fs/promises";

import { FileAsBase64 } from "./tools/common.ts";

const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;

/** Bytes read and encoded at a time: a multiple of 3, so only the file's end can carry padding. */
const CHUNK = 3 << 20;

/** The JSON text of `value` as one buffer, every FileAsBase64 leaf replaced by the file's base64. */
export async function jsonBody(value: unknown): Promise<Buffer> {
  const files: FileAsBase64[] = [];
  // A token that cannot occur in the rest of the document, and needs no JSON escaping.
  const token = `@@file-${randomUUID()}@@`;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (!(item instanceof FileAsBase64)) return item;
    files.push(item);
    return token;
  });
  const pieces = text.split(token);
  let length = 0;
  pieces.forEach((piece, i) => {
    length += Buffer.byteLength(piece);
    const file = files[i];
    if (file) length += base64Length(file.size);
  });
  const body = Buffer.allocUnsafe(length);
  let at = 0;
  for (const [i, piece] of pieces.entries()) {
    at += body.write(piece, at, "utf8");
    const file = files[i];
    if (file) at = await encodeFileInto(body, at, file);
  }
  if (at !== length) throw new Error(`JSON body is ${at} bytes, ${length} were expected`);
  return body;
}

/** Writes exactly `file.size` bytes of the file as base64 into `body` at `at`; returns the new offset. */
async function encodeFileInto(body: Buffer, at: number, file: FileAsBase64): Promise<number> {
  if (file.size === 0) return at;
  const handle = await open(file.filePath, "r");
  try {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, file.size));
    for (let done = 0; done < file.size;) {
      const want = Math.min(CHUNK, file.size - done);
      let filled = 0;
      while (filled < want) {
        const { bytesRead } = await handle.read(chunk, filled, want - filled, done + filled);
        // A file that shrank since it was measured would break the announced Content-Length.
        if (bytesRead === 0) throw new Error(`${file.filePath} changed size while being read`);
        filled += bytesRead;
      }
      at += body.write(chunk.subarray(0, want).toString("base64"), at, "latin1");
      done += want;
    }
    return at;
  } finally {
    await handle.close();
  }
}
