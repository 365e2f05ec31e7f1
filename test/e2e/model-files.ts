import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { once } from "node:events";

/**
 * Writes a valid safetensors file of exactly `size` bytes, streamed (never held in memory),
 * with deterministic content, and returns its SHA-256. Faster than training one.
 */
export async function writeSafetensors(
  path: string,
  size: number,
  metadata: Record<string, string> = {},
): Promise<string> {
  // The header is padded with spaces to a fixed length so the file size is exact.
  const headerLength = 256;
  const payload = size - 8 - headerLength;
  const json = JSON.stringify({
    __metadata__: { format: "pt", ...metadata },
    "lora.weight": { dtype: "U8", shape: [payload], data_offsets: [0, payload] },
  }).padEnd(headerLength, " ");
  if (json.length !== headerLength) throw new Error("metadata too long for the fixed header");
  const head = Buffer.alloc(8 + headerLength);
  head.writeBigUInt64LE(BigInt(headerLength), 0);
  head.write(json, 8, "utf8");

  await mkdir(dirname(path), { recursive: true });
  const hash = createHash("sha256");
  const out = createWriteStream(path);
  const write = async (chunk: Buffer) => {
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  };
  await write(head);
  const block = Buffer.alloc(1024 * 1024);
  let x = 0x9e3779b9;
  for (let i = 0; i < block.length; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  for (let written = 0, n = 0; written < payload; n++) {
    const take = Math.min(block.length, payload - written);
    const chunk = Buffer.from(block.subarray(0, take));
    chunk.writeUInt32LE(n, 0); // every MiB differs from the others
    await write(chunk);
    written += take;
  }
  out.end();
  await once(out, "finish");
  return hash.digest("hex");
}

/** Reads a response body to the end, hashing and counting it, without keeping it. */
export async function hashBody(
  response: Response,
  stopAfter = Infinity,
): Promise<{ sha256: string; bytes: number; hash: ReturnType<typeof createHash> }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    bytes += value.byteLength;
    if (bytes >= stopAfter) {
      await reader.cancel();
      break;
    }
  }
  return { sha256: bytes >= stopAfter ? "" : hash.copy().digest("hex"), bytes, hash };
}
