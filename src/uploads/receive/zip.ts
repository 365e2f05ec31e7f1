import { Unzip, UnzipInflate, type UnzipFile } from "fflate";
import { errorMessage } from "../../common";
import { PartWriter } from "../../r2/multipart";
import { CAPTION_LIST_MAX_BYTES, CaptionFileError, captionEntries } from "../captions";
import {
  IMAGE_HEAD_BYTES,
  imageProblem,
  sanitizeFilename,
  sniffImage,
  uniqueName,
  uploadKind,
  type UploadKind,
} from "../rules";
import type { UploadSession } from "../session";

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
        events.push({
          type: "error",
          id,
          reason:
            `it unpacks to more than ${maxEntryBytes} bytes, over the limit per file ` +
            `(UPLOAD_FILE_MAX_BYTES): upload it on its own, resized or recompressed`,
        });
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
    const message = errorMessage(error);
    for (const sink of sinks.values()) await sink.abort(`the archive could not be read (${message})`);
    throw new Error(
      `the zip could not be read (${message}): check it opens on your computer, or upload its files directly`,
    );
  } finally {
    reader.releaseLock();
  }
  // Entries the archive cut off before their end.
  for (const sink of sinks.values()) await sink.abort("the archive ended in the middle of this file");
  return { entries };
}

/** Parts of a zip entry sent to R2: equal sizes over R2's 5 MiB minimum, 8 MiB held at most. */
const ENTRY_PART_BYTES = 8 * 1024 * 1024;

/** What unpacking a zip did, entry by entry. */
export interface ZipReport {
  images: number;
  captions: number;
  rejected: Array<{ name: string; reason: string }>;
}

/**
 * One entry of an uploaded zip on its way into the session: an image goes to R2 (in one put
 * when small, in 8 MiB multipart parts when not, so an entry of unknown size is never held
 * whole), a caption file is read and applied. Two entries with one name (from different
 * folders) are kept apart as "a.png" and "a-2.png".
 */
export class ZipEntryWriter implements ZipEntrySink {
  private name = "";
  private kind: UploadKind | undefined;
  private key = "";
  private size = 0;
  private head = new Uint8Array(0);
  private writer: PartWriter | undefined;
  private upload: R2MultipartUpload | undefined;
  private readonly parts: R2UploadedPart[] = [];
  private text = "";
  private readonly decoder = new TextDecoder();
  private maxBytes = 0;

  constructor(
    private readonly env: Env,
    private readonly stub: DurableObjectStub<UploadSession>,
    private readonly path: string,
    private readonly taken: Set<string>,
    private readonly report: ZipReport,
  ) {}

  /** Checks the entry with the session; false (and a recorded reason) when it is refused. */
  async begin(originalSize: number | undefined): Promise<boolean> {
    const clean = sanitizeFilename(this.path);
    if (!clean)
      return this.refuse(
        this.path,
        "not a usable file name: rename it with letters, digits, '.', '_' or '-' and upload it again",
      );
    this.name = uniqueName(clean, (candidate) => this.taken.has(candidate.toLowerCase()));
    this.taken.add(this.name.toLowerCase());
    this.kind = uploadKind(this.name);
    if (this.kind === "zip") return this.refuse(this.name, "a zip inside a zip is not unpacked: upload it separately");
    const target = await this.stub.beginFile(this.name, originalSize ?? 0, "whole");
    if (!target.ok) return this.refuse(this.name, target.error);
    this.key = target.value.key;
    this.maxBytes = this.kind === "image" ? target.value.maxBytes : CAPTION_LIST_MAX_BYTES;
    return true;
  }

  async write(chunk: Uint8Array): Promise<boolean> {
    if (this.size + chunk.byteLength > this.maxBytes) {
      await this.abort(
        this.kind === "image"
          ? `${this.name} is over the ${this.maxBytes}-byte limit per image (UPLOAD_FILE_MAX_BYTES): resize ` +
              `or recompress it`
          : `${this.name} is over ${this.maxBytes} bytes, too big for a caption file: shorten it`,
      );
      return false;
    }
    if (this.head.byteLength < IMAGE_HEAD_BYTES) {
      const head = new Uint8Array(Math.min(IMAGE_HEAD_BYTES, this.head.byteLength + chunk.byteLength));
      head.set(this.head);
      head.set(chunk.subarray(0, head.byteLength - this.head.byteLength), this.head.byteLength);
      this.head = head;
    }
    this.size += chunk.byteLength;
    if (this.kind !== "image") {
      this.text += this.decoder.decode(chunk, { stream: true });
      return true;
    }
    this.writer ??= new PartWriter(ENTRY_PART_BYTES, async (n, bytes) => {
      this.upload ??= await this.env.STAGING.createMultipartUpload(this.key);
      this.parts.push(await this.upload.uploadPart(n, bytes));
    });
    await this.writer.write(chunk);
    return true;
  }

  async close(): Promise<void> {
    if (this.kind !== "image") {
      try {
        const entries = captionEntries(this.kind ?? "caption", this.name, this.text + this.decoder.decode());
        const set = await this.stub.setCaptions(
          entries,
          this.kind === "caption" ? "txt" : this.kind === "captions-json" ? "captions.json" : "captions.csv",
        );
        if (set.ok) this.report.captions += set.value.captions;
        else this.refuse(this.name, set.error);
      } catch (error) {
        if (!(error instanceof CaptionFileError)) throw error;
        this.refuse(this.name, error.message);
      }
      return;
    }
    const problem = imageProblem(this.name, this.head);
    if (problem) return this.abort(problem);
    const writer = this.writer;
    if (this.upload && writer) {
      await writer.finish();
      await this.upload.complete(this.parts);
    } else {
      // Smaller than one part: a single put.
      await this.env.STAGING.put(this.key, writer?.tail ?? new Uint8Array(0));
    }
    this.writer = undefined;
    const recorded = await this.stub.recordWhole(this.name, this.size, sniffImage(this.head) ?? null);
    if (recorded.ok) this.report.images++;
    else this.refuse(this.name, recorded.error);
  }

  async abort(reason: string): Promise<void> {
    this.writer = undefined;
    await this.upload?.abort().catch(() => {});
    this.upload = undefined;
    this.refuse(this.name || this.path, reason);
    await this.stub.rejectFile(this.name || this.path, reason);
  }

  private refuse(name: string, reason: string): false {
    this.report.rejected.push({ name, reason });
    return false;
  }
}
