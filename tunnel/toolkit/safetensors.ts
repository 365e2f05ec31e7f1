// A minimal safetensors writer, enough to produce files any safetensors reader accepts.
//
// Format: an 8-byte little-endian header length N, N bytes of JSON header (tensor name ->
// {dtype, shape, data_offsets: [begin, end]} relative to the start of the data, plus an optional
// `__metadata__` map of string -> string), then the tensor data back to back. The header may be
// padded with trailing spaces; we pad it so the data starts on an 8-byte boundary when the
// requested size allows it.
//
// Files can be asked to be hundreds of MB (download tests), so the data is written in chunks
// from one reused buffer, never built in memory.

import { closeSync, openSync, renameSync, writeSync } from "node:fs";

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Fills element i of the tensor; called once per element of the small tensors only. */
  value: (i: number) => number;
}

export interface SafetensorsOptions {
  metadata: Record<string, string>;
  tensors: TensorSpec[];
  /**
   * When set, an extra F32 tensor is added so the file is exactly this many bytes (when the
   * small tensors alone are larger, the file is simply as large as they need).
   */
  targetBytes?: number | undefined;
  /** Name of that padding tensor. */
  fillerName?: string;
}

interface HeaderEntry {
  dtype: "F32";
  shape: number[];
  data_offsets: [number, number];
}

const CHUNK_BYTES = 1 << 20;

function elementCount(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function buildHeader(
  metadata: Record<string, string>,
  tensors: readonly TensorSpec[],
  fillerName: string,
  fillerElements: number,
): { json: string; dataBytes: number } {
  const header: Record<string, Record<string, string> | HeaderEntry> = { __metadata__: metadata };
  let offset = 0;
  for (const tensor of tensors) {
    const bytes = elementCount(tensor.shape) * 4;
    header[tensor.name] = { dtype: "F32", shape: tensor.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  if (fillerElements > 0) {
    header[fillerName] = { dtype: "F32", shape: [fillerElements], data_offsets: [offset, offset + fillerElements * 4] };
    offset += fillerElements * 4;
  }
  return { json: JSON.stringify(header), dataBytes: offset };
}

/**
 * Lays out the header: how many filler elements, and how long the padded header is. Adding the
 * filler changes the header's own length (more digits), so settle it by iterating; a few rounds
 * always suffice because the length only grows by a handful of bytes each time.
 */
function layout(options: SafetensorsOptions): { header: string; filler: number } {
  const fillerName = options.fillerName ?? "filler.weight";
  const fixedBytes = options.tensors.reduce((sum, t) => sum + elementCount(t.shape) * 4, 0);
  const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
  let filler = 0;
  let { json } = buildHeader(options.metadata, options.tensors, fillerName, 0);
  let headerLength = pad8(Buffer.byteLength(json));
  const target = options.targetBytes;
  if (target !== undefined) {
    for (let round = 0; round < 8; round++) {
      const room = target - 8 - headerLength - fixedBytes;
      if (room < 4) break;
      filler = Math.floor(room / 4);
      json = buildHeader(options.metadata, options.tensors, fillerName, filler).json;
      const needed = Buffer.byteLength(json);
      if (needed > headerLength) {
        headerLength = pad8(needed);
        continue;
      }
      // Whatever the filler could not take (room not a multiple of 4) goes into header padding,
      // so the file is exactly the requested size.
      headerLength += room - filler * 4;
      break;
    }
    if (filler === 0) json = buildHeader(options.metadata, options.tensors, fillerName, 0).json;
  }
  return { header: json.padEnd(Math.max(headerLength, Buffer.byteLength(json)), " "), filler };
}

/** Writes the file to `<path>.partial` and renames it, so readers never see half a model. */
export function writeSafetensors(path: string, options: SafetensorsOptions): number {
  const { header, filler } = layout(options);
  const headerBytes = Buffer.from(header, "utf8");
  const partial = `${path}.partial`;
  const fd = openSync(partial, "w");
  let written = 0;
  const write = (buf: Buffer, length = buf.length): void => {
    let done = 0;
    while (done < length) done += writeSync(fd, buf, done, length - done);
    written += length;
  };
  try {
    const lengthPrefix = Buffer.alloc(8);
    lengthPrefix.writeBigUInt64LE(BigInt(headerBytes.length));
    write(lengthPrefix);
    write(headerBytes);
    for (const tensor of options.tensors) {
      const count = elementCount(tensor.shape);
      const data = Buffer.alloc(count * 4);
      for (let i = 0; i < count; i++) data.writeFloatLE(tensor.value(i), i * 4);
      write(data);
    }
    if (filler > 0) {
      // Small, varied values rather than zeros, so the bytes look like weights in a hex dump.
      const chunk = Buffer.alloc(CHUNK_BYTES);
      for (let i = 0; i < CHUNK_BYTES / 4; i++) chunk.writeFloatLE(Math.sin(i) * 1e-3, i * 4);
      let remaining = filler * 4;
      while (remaining > 0) {
        const n = Math.min(remaining, CHUNK_BYTES);
        write(chunk, n);
        remaining -= n;
      }
    }
  } finally {
    closeSync(fd);
  }
  renameSync(partial, path);
  return written;
}
