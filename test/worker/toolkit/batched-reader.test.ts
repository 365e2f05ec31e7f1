import { afterEach, describe, expect, it, vi } from "vitest";
import {
  BATCH_BUFFER_BYTES,
  BATCH_MIN_BYTES,
  END_PROBE_BYTES,
  batchedReader,
} from "../../../src/toolkit/batched-reader";

/** A byte stream (what workerd's fetch and R2 bodies are) that enqueues `count` pieces of `size` bytes. */
function byteStream(count: number, size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      if (sent === count) return controller.close();
      controller.enqueue(new Uint8Array(size).fill(sent++ % 251));
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>, expectedBytes?: number) {
  const reader = batchedReader(stream, expectedBytes);
  const pieces: Uint8Array[] = [];
  for (;;) {
    const next = await reader.read();
    if (next.done) break;
    pieces.push(next.value);
  }
  const bytes = new Uint8Array(pieces.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.byteLength;
  }
  return { pieces, bytes };
}

type AtLeast = (min: number, view: Uint8Array) => Promise<ReadableStreamReadResult<Uint8Array>>;

/** The room (buffer size) of every readAtLeast call from here on. */
function recordRooms(): number[] {
  const rooms: number[] = [];
  const prototype = ReadableStreamBYOBReader.prototype as unknown as { readAtLeast: AtLeast };
  const original = prototype.readAtLeast;
  vi.spyOn(prototype, "readAtLeast").mockImplementation(function (this: unknown, min, view) {
    rooms.push(view.byteLength);
    return original.call(this, min, view);
  });
  return rooms;
}

describe("batchedReader", () => {
  afterEach(() => vi.restoreAllMocks());

  it("joins a byte stream's 4 KiB pieces into pieces of at least BATCH_MIN_BYTES, every byte in order", async () => {
    const { pieces, bytes } = await readAll(byteStream(100, 4096));
    expect(bytes.byteLength).toBe(100 * 4096);
    for (let i = 0; i < 100; i++) expect(bytes[i * 4096]).toBe(i % 251);
    // All but the last piece hold at least the minimum: far fewer pieces than came in.
    expect(pieces.slice(0, -1).every((piece) => piece.byteLength >= BATCH_MIN_BYTES)).toBe(true);
    expect(pieces.length).toBeLessThan(100 / (BATCH_MIN_BYTES / 4096) + 2);
  });

  it("hands out a short body whole and then ends", async () => {
    const { pieces, bytes } = await readAll(byteStream(3, 10));
    expect(bytes.byteLength).toBe(30);
    expect(pieces).toHaveLength(1);
  });

  it("ends an empty byte stream at once", async () => {
    expect((await readAll(byteStream(0, 1))).bytes.byteLength).toBe(0);
  });

  it("reads a stream built in JavaScript (no BYOB reader) as it comes", async () => {
    const chunks = [new Uint8Array([1, 2]), new Uint8Array([3])];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const { pieces, bytes } = await readAll(stream);
    expect(pieces).toHaveLength(2);
    expect([...bytes]).toEqual([1, 2, 3]);
  });

  it("passes a body's failure on to the read", async () => {
    let sent = 0;
    const failing = new ReadableStream({
      type: "bytes",
      pull(controller) {
        if (sent++ < 2) controller.enqueue(new Uint8Array(4096));
        else controller.error(new Error("connection reset"));
      },
    });
    const reader = batchedReader(failing);
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow("connection reset");
  });

  it("cancels the body underneath", async () => {
    let cancelled: unknown;
    const stream = new ReadableStream({
      type: "bytes",
      pull(controller) {
        controller.enqueue(new Uint8Array(4096));
      },
      cancel(reason) {
        cancelled = reason;
      },
    });
    const reader = batchedReader(stream);
    await reader.read();
    await reader.cancel("enough");
    expect(cancelled).toBe("enough");
  });

  describe("sizes each read's room to what is left", () => {
    it("gives a body of known length no more room than its bytes, and the end a small probe", async () => {
      const rooms = recordRooms();
      const { bytes } = await readAll(byteStream(3, 10), 30);
      expect(bytes.byteLength).toBe(30);
      expect(rooms).toEqual([30, END_PROBE_BYTES]);
    });

    it("confirms the end of a short body of unknown length with a small probe", async () => {
      const rooms = recordRooms();
      const { bytes } = await readAll(byteStream(3, 10));
      expect(bytes.byteLength).toBe(30);
      expect(rooms).toEqual([BATCH_BUFFER_BYTES, END_PROBE_BYTES]);
    });

    it("never gives a long body of known length more room than it has left", async () => {
      const rooms = recordRooms();
      const total = 100 * 4096;
      const { pieces, bytes } = await readAll(byteStream(100, 4096), total);
      expect(bytes.byteLength).toBe(total);
      expect(rooms).toHaveLength(pieces.length + 1);
      let left = total;
      pieces.forEach((piece, i) => {
        expect(rooms[i]).toBeLessThanOrEqual(Math.min(BATCH_BUFFER_BYTES, left));
        left -= piece.byteLength;
      });
      expect(rooms.at(-1)).toBe(END_PROBE_BYTES);
    });

    it("reads a body that runs past its declared length whole, with full room again", async () => {
      const rooms = recordRooms();
      const { bytes } = await readAll(byteStream(100, 4096), 10);
      expect(bytes.byteLength).toBe(100 * 4096);
      for (let i = 0; i < 100; i++) expect(bytes[i * 4096]).toBe(i % 251);
      expect(rooms).toContain(BATCH_BUFFER_BYTES);
    });

    it("ends an empty body of known length with one probe", async () => {
      const rooms = recordRooms();
      expect((await readAll(byteStream(0, 1), 0)).bytes.byteLength).toBe(0);
      expect(rooms).toEqual([END_PROBE_BYTES]);
    });
  });
});
