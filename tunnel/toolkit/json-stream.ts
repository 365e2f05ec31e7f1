// JSON answers that may embed whole files as base64 strings, written as a stream.
//
// download_model answers with the entire model inside one JSON string, as the original does.
// Building that string is out of the question for a 500 MB model (667 MB of base64 is more
// than a JavaScript string may hold, and twice the memory anyway), so the answer is serialised
// with a placeholder where each file goes, and the file is base64-encoded chunk by chunk into
// the response. The byte length is known in advance, so the answer has a Content-Length.

import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import type { Writable } from "node:stream";

import { FileAsBase64 } from "./tools/common.ts";

export type Part = string | FileAsBase64;

export interface StreamableJson {
  parts: Part[];
  byteLength: number;
}

const base64Length = (bytes: number): number => Math.ceil(bytes / 3) * 4;

/** JSON text with every FileAsBase64 leaf replaced by the file's base64 (between its quotes). */
export function toStreamableJson(value: unknown): StreamableJson {
  const files: FileAsBase64[] = [];
  // A token that cannot occur in the rest of the document, and needs no JSON escaping.
  const token = `@@file-${randomUUID()}@@`;
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (!(item instanceof FileAsBase64)) return item;
    files.push(item);
    return token;
  });
  const pieces = text.split(token);
  const parts: Part[] = [];
  let byteLength = 0;
  pieces.forEach((piece, i) => {
    parts.push(piece);
    byteLength += Buffer.byteLength(piece);
    const file = files[i];
    if (file) {
      parts.push(file);
      byteLength += base64Length(file.size);
    }
  });
  return { parts, byteLength };
}

function write(out: Writable, chunk: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // Wait for 'drain' when the socket is full, so a slow reader does not make us buffer the model.
    if (out.write(chunk)) resolve();
    else {
      const onDrain = (): void => {
        out.off("close", onClose);
        resolve();
      };
      const onClose = (): void => {
        out.off("drain", onDrain);
        reject(new Error("client went away"));
      };
      out.once("drain", onDrain);
      out.once("close", onClose);
    }
  });
}

/** Streams exactly `file.size` bytes of the file as base64, carrying partial 3-byte groups over. */
async function writeFileBase64(out: Writable, file: FileAsBase64): Promise<void> {
  if (file.size === 0) return;
  let carry: Buffer = Buffer.alloc(0);
  // 3 MiB reads: a multiple of 3 bytes, so most chunks encode without carrying anything.
  const stream = createReadStream(file.filePath, { start: 0, end: file.size - 1, highWaterMark: 3 << 20 });
  let sent = 0;
  for await (const raw of stream) {
    const chunk: Buffer = carry.length > 0 ? Buffer.concat([carry, raw as Buffer]) : (raw as Buffer);
    const whole = chunk.length - (chunk.length % 3);
    carry = chunk.subarray(whole);
    sent += whole;
    if (whole > 0) await write(out, chunk.subarray(0, whole).toString("base64"));
  }
  if (carry.length > 0) {
    sent += carry.length;
    await write(out, carry.toString("base64"));
  }
  // A file that shrank since it was measured would break the announced Content-Length.
  if (sent !== file.size) throw new Error(`${file.filePath} changed size while being sent`);
}

export async function writeStreamableJson(out: Writable, json: StreamableJson): Promise<void> {
  for (const part of json.parts) {
    if (typeof part === "string") await write(out, part);
    else await writeFileBase64(out, part);
  }
}
