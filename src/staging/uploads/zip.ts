import { Unzip, UnzipInflate } from "fflate";

/** One entry of a zip being read: its bytes arrive through `write`, then `close`. */
export interface ZipEntrySink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /** The archive ended badly or the entry was refused: drop what was written. */
  abort(reason: string): Promise<void>;
}

type ZipEvent =
  | { type: "start"; id: number; name: string }
  | { type: "data"; id: number; chunk: Uint8Array; final: boolean }
  | { type: "error"; id: number; message: string };

/**
 * Unpacks a zip read as a stream with fflate, entry after entry, without holding the archive
 * or an entry in memory. fflate calls back synchronously during `push`, so its events are
 * queued and then handled in order, with backpressure: the next chunk of the archive is read
 * only once the previous one's entries are written. Directory entries, macOS resource forks
 * (__MACOSX/, ._*) and hidden files are skipped. `open` returns undefined to skip an entry.
 */
export async function unpackZip(
  source: ReadableStream<Uint8Array>,
  open: (path: string, originalSize: number | undefined) => Promise<ZipEntrySink | undefined>,
): Promise<{ entries: number }> {
  const events: ZipEvent[] = [];
  const sinks = new Map<number, ZipEntrySink | undefined>();
  let nextId = 0;
  let entries = 0;
  const sizes = new Map<number, number | undefined>();
  const unzip = new Unzip((file) => {
    const id = nextId++;
    const base = file.name.split("/").pop() ?? "";
    if (file.name.endsWith("/") || file.name.startsWith("__MACOSX/") || base.startsWith(".") || base === "") return;
    sizes.set(id, file.originalSize);
    events.push({ type: "start", id, name: file.name });
    file.ondata = (error, chunk, final) => {
      if (error) events.push({ type: "error", id, message: error.message });
      else events.push({ type: "data", id, chunk, final });
    };
    file.start();
  });
  unzip.register(UnzipInflate);

  const drain = async () => {
    while (events.length > 0) {
      const event = events.shift();
      if (!event) break;
      if (event.type === "start") {
        entries++;
        sinks.set(event.id, await open(event.name, sizes.get(event.id)));
        continue;
      }
      const sink = sinks.get(event.id);
      if (event.type === "error") {
        await sink?.abort(`the zip entry is damaged (${event.message})`);
        sinks.delete(event.id);
        continue;
      }
      if (event.chunk.byteLength > 0) await sink?.write(event.chunk);
      if (event.final) {
        await sink?.close();
        sinks.delete(event.id);
      }
    }
  };

  const reader = source.getReader();
  try {
    for (;;) {
      const next = await reader.read();
      if (next.done) {
        unzip.push(new Uint8Array(0), true);
        await drain();
        break;
      }
      unzip.push(next.value, false);
      await drain();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    for (const sink of sinks.values()) await sink?.abort(`the archive could not be read (${message})`);
    throw new Error(`the zip could not be read (${message}): check it opens on your computer, or upload its files directly`);
  } finally {
    reader.releaseLock();
  }
  // Entries the archive cut off before their end.
  for (const sink of sinks.values()) await sink?.abort("the archive ended in the middle of this file");
  return { entries };
}
