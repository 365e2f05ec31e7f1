import { IMAGE_HEAD_BYTES as HEAD_BYTES } from "../rules";

export interface SniffedStream {
  head: Uint8Array;
  /** The whole stream again, head included, with a known length for R2. */
  body: ReadableStream<Uint8Array>;
}

/**
 * Reads just enough of a stream to see its magic number, then hands back the whole stream
 * with its length fixed (R2 needs the length up front; a short or long body then fails the
 * put instead of staging a truncated file). Nothing beyond the first chunk is buffered.
 */
export async function sniff(stream: ReadableStream<Uint8Array>, length: number): Promise<SniffedStream> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let have = 0;
  while (have < HEAD_BYTES) {
    const next = await reader.read();
    if (next.done) break;
    chunks.push(next.value);
    have += next.value.byteLength;
  }
  const head = new Uint8Array(Math.min(have, HEAD_BYTES));
  let at = 0;
  for (const chunk of chunks) {
    if (at >= head.length) break;
    const take = chunk.subarray(0, head.length - at);
    head.set(take, at);
    at += take.length;
  }
  const replay = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
    },
    async pull(controller) {
      const next = await reader.read();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    cancel: (reason) => reader.cancel(reason),
  });
  const fixed = new FixedLengthStream(length);
  replay.pipeTo(fixed.writable).catch(() => {});
  return { head, body: fixed.readable };
}

/** Why these first bytes are not the image the name says, or undefined when they are. */
/** Reads a small text upload (a caption or captions list), refusing one over `maxBytes`. */
export async function readSmallText(stream: ReadableStream<Uint8Array>, maxBytes: number, name: string): Promise<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let text = "";
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += chunk.byteLength;
      if (size > maxBytes) throw new RangeError(`${name} is over ${maxBytes} bytes, too big for a caption file: shorten it`);
      text += decoder.decode(chunk, { stream: true });
    }
    return text + decoder.decode();
  } catch (error) {
    if (error instanceof RangeError) throw error;
    throw new RangeError(`${name} is not UTF-8 text: save it as UTF-8 and upload it again`);
  }
}
