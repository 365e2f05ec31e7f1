// Test utilities for the staging codecs: a seeded PRNG (failures reproduce), reference
// base64 built on btoa/atob, and small stream helpers.
import { expect } from "vitest";

/** mulberry32: tiny, fast, good enough to pick bytes and chunk sizes. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

/** Splits `bytes` into chunks of 0..maxChunk bytes (empty chunks included on purpose). */
export function splitRandomly(bytes: Uint8Array, random: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length;) {
    const size = randomInt(random, 0, maxChunk);
    chunks.push(bytes.slice(i, i + size));
    i += size;
  }
  return chunks;
}

export function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.slice(i, i + size));
  return chunks;
}

export function binaryString(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return out;
}

/** Reference encoder: the platform's btoa. */
export function referenceBase64(bytes: Uint8Array): string {
  return btoa(binaryString(bytes));
}

/** Reference decoder: the platform's atob. */
export function referenceDecode(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function ascii(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** A pull-based stream that hands out one chunk per pull, counting what was pulled. */
export function streamOf(
  chunks: readonly Uint8Array[],
): ReadableStream<Uint8Array> & { pulledBytes(): number; cancelledWith(): unknown } {
  let index = 0;
  let pulled = 0;
  let cancelReason: unknown = undefined;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[index++];
        if (chunk === undefined) {
          controller.close();
          return;
        }
        pulled += chunk.length;
        controller.enqueue(chunk);
      },
      cancel(reason) {
        cancelReason = reason ?? "cancelled";
      },
    },
    { highWaterMark: 0 },
  );
  return Object.assign(stream, { pulledBytes: () => pulled, cancelledWith: () => cancelReason });
}

export async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    parts.push(next.value);
    total += next.value.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Collects each chunk separately (to check chunk sizes). */
export async function collectChunks(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const next = await reader.read();
    if (next.done) return parts;
    parts.push(next.value);
  }
}

export async function pipeChunks(
  chunks: readonly Uint8Array[],
  transform: TransformStream<Uint8Array, Uint8Array>,
): Promise<Uint8Array> {
  return collect(streamOf(chunks).pipeThrough(transform));
}

/**
 * Byte-exact comparison that reports the first difference instead of diffing megabytes.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  let firstDifference = -1;
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    if (actual[i] !== expected[i]) {
      firstDifference = i;
      break;
    }
  }
  expect({ length: actual.length, firstDifference }).toEqual({ length: expected.length, firstDifference: -1 });
}
