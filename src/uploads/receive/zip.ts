import { Unzip, UnzipInflate, type UnzipFile } from "fflate";

/** One entry of a zip being read: its bytes arrive through `write`, then `close`. */
export interface ZipEntrySink {
  /** Takes the next bytes; false when the entry was refused, so the rest is not inflated. */
  write(chunk: Uint8Array): Promise<boolean>;
  close(): Promise<void>;
  /** The archive ended badly or the entry was refused: drop what was written. */
  abort(reason: string): Promise<void>;
}

type ZipEvent =
  | { type: "start"; id: number; name: string }
  | { type: "data"; id: number; chunk: Uint8Array; final: boolean }
  | { type: "error"; id: number; reason: string };

/**
 * Compressed bytes handed to fflate at a time. DEFLATE expands at most about 1032:1, so one
 * slice inflates to at most ~4 MB: a zip bomb read in 64 KiB chunks would otherwise produce
 * 67 MB in one synchronous call, half of what an isolate has.
 */
export const ZIP_SLICE_BYTES = 4 * 1024;

/** fflate's inflater for zip entries, which can be told to stop (fflate calls `terminate`). */
class StoppableInflate extends UnzipInflate {
  private stopped = false;
  override push(chunk: Uint8Array, final: boolean): void {
    if (!this.stopped) super.push(chunk, final);
  }
  terminate(): void {
    this.stopped = true;
  }
}

/**
 * Unpacks a zip read as a stream with fflate, entry after entry, without holding the archive
 * or an entry in memory. fflate calls back synchronously during `push`, so the archive is fed
 * in small slices and the queued events are handled after each, with backpressure: the next
 * slice is inflated only once the previous one's output is written. An entry that inflates
 * past `maxEntryBytes`, or that its sink refuses, is aborted and the rest of it is skipped
 * without inflating, so a zip bomb costs no more than the limit. Directory entries, macOS
 * resource forks (__MACOSX/, ._*) and hidden files are skipped. `open` returns undefined to
 * skip an entry.
 */
export async function unpackZip(
  source: ReadableStream<Uint8Array>,
  open: (path: string, originalSize: number | undefined) => Promise<ZipEntrySink | undefined>,
  maxEntryBytes: number,
): Promise<{ entries: number }> {
  const events: ZipEvent[] = [];
  const sinks = new Map<number, ZipEntrySink>();
  const files = new Map<number, UnzipFile>();
  const inflated = new Map<number, number>();
  /** Entries refused part-way: their remaining output is ignored. */
  const stopped = new Set<number>();
  let nextId = 0;
  let entries = 0;
  const sizes = new Map<number, number | undefined>();
  const stop = (id: number) => {
    stopped.add(id);
    files.get(id)?.terminate();
    files.delete(id);
  };
  const unzip = new Unzip((file) => {
    const id = nextId++;
    const base = file.name.split("/").pop() ?? "";
    if (file.name.endsWith("/") || file.name.startsWith("__MACOSX/") || base.startsWith(".") || base === "") return;
    sizes.set(id, file.originalSize);
    files.set(id, file);
    inflated.set(id, 0);
    events.push({ type: "start", id, name: file.name });
    file.ondata = (error, chunk, final) => {
      if (stopped.has(id)) return;
      if (error) {
        events.push({ type: "error", id, reason: `the zip entry is damaged (${error.message})` });
        return;
      }
      const total = (inflated.get(id) ?? 0) + chunk.byteLength;
      inflated.set(id, total);
      if (total > maxEntryBytes) {
        stop(id);
        events.push({ type: "error", id, reason: `it unpacks to more than ${maxEntryBytes} bytes, over the limit per file (UPLOAD_FILE_MAX_BYTES): upload it on its own, resized or recompressed` });
        return;
      }
      events.push({ type: "data", id, chunk, final });
      if (final) files.delete(id);
    };
    file.start();
  });
  unzip.register(StoppableInflate);

  const drain = async () => {
    while (events.length > 0) {
      const event = events.shift();
      if (!event) break;
      if (event.type === "start") {
        entries++;
        const sink = await open(event.name, sizes.get(event.id));
        if (sink) sinks.set(event.id, sink);
        else stop(event.id);
        continue;
      }
      const sink = sinks.get(event.id);
      if (event.type === "error") {
        await sink?.abort(event.reason);
        sinks.delete(event.id);
        continue;
      }
      if (!sink) continue;
      if (event.chunk.byteLength > 0 && !(await sink.write(event.chunk))) {
        // Refused by its sink (which recorded why): skip the rest without inflating it.
        stop(event.id);
        sinks.delete(event.id);
        continue;
      }
      if (event.final) {
        await sink.close();
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
      for (let at = 0; at < next.value.byteLength; at += ZIP_SLICE_BYTES) {
        unzip.push(next.value.subarray(at, at + ZIP_SLICE_BYTES), false);
        await drain();
      }
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    for (const sink of sinks.values()) await sink.abort(`the archive could not be read (${message})`);
    throw new Error(`the zip could not be read (${message}): check it opens on your computer, or upload its files directly`);
  } finally {
    reader.releaseLock();
  }
  // Entries the archive cut off before their end.
  for (const sink of sinks.values()) await sink.abort("the archive ended in the middle of this file");
  return { entries };
}
