import { IMAGE_HEAD_BYTES as HEAD_BYTES, imageProblem, sniffImage, sanitizeFilename, uniqueName, uploadKind, type UploadKind } from "../rules";
import { CAPTION_LIST_MAX_BYTES, CaptionFileError, captionEntries } from "../captions";
import { sessionStub } from "../token";
import type { ZipEntrySink } from "./zip";

/** Parts of a zip entry sent to R2: equal sizes over R2's 5 MiB minimum, 8 MiB held at most. */
const ENTRY_PART_BYTES = 8 * 1024 * 1024;

interface Report {
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
export class ZipImageSink implements ZipEntrySink {
  private name = "";
  private kind: UploadKind | undefined;
  private key = "";
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private size = 0;
  private head = new Uint8Array(0);
  private upload: R2MultipartUpload | undefined;
  private parts: R2UploadedPart[] = [];
  private text = "";
  private readonly decoder = new TextDecoder();
  private maxBytes = 0;

  constructor(
    private readonly env: Env,
    private readonly tokenHash: string,
    private readonly path: string,
    private readonly taken: Set<string>,
    private readonly report: Report,
  ) {}

  /** Checks the entry with the session; false (and a recorded reason) when it is refused. */
  async begin(originalSize: number | undefined): Promise<boolean> {
    const clean = sanitizeFilename(this.path);
    if (!clean) return this.refuse(this.path, "not a usable file name: rename it with letters, digits, '.', '_' or '-' and upload it again");
    this.name = uniqueName(clean, (candidate) => this.taken.has(candidate.toLowerCase()));
    this.taken.add(this.name.toLowerCase());
    this.kind = uploadKind(this.name);
    if (this.kind === "zip") return this.refuse(this.name, "a zip inside a zip is not unpacked: upload it separately");
    const target = await sessionStub(this.env, this.tokenHash).beginFile(this.tokenHash, this.name, originalSize ?? 0, "whole");
    if (!target.ok) return this.refuse(this.name, target.error);
    this.key = target.value.key;
    this.maxBytes = this.kind === "image" ? target.value.maxBytes : CAPTION_LIST_MAX_BYTES;
    return true;
  }

  async write(chunk: Uint8Array): Promise<boolean> {
    if (this.size + chunk.byteLength > this.maxBytes) {
      await this.abort(
        this.kind === "image"
          ? `${this.name} is over the ${this.maxBytes}-byte limit per image (UPLOAD_FILE_MAX_BYTES): resize or recompress it`
          : `${this.name} is over ${this.maxBytes} bytes, too big for a caption file: shorten it`,
      );
      return false;
    }
    if (this.head.byteLength < HEAD_BYTES) {
      const head = new Uint8Array(Math.min(HEAD_BYTES, this.head.byteLength + chunk.byteLength));
      head.set(this.head);
      head.set(chunk.subarray(0, head.byteLength - this.head.byteLength), this.head.byteLength);
      this.head = head;
    }
    this.size += chunk.byteLength;
    if (this.kind !== "image") {
      this.text += this.decoder.decode(chunk, { stream: true });
      return true;
    }
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    while (this.pendingBytes >= ENTRY_PART_BYTES) await this.flushPart();
    return true;
  }

  async close(): Promise<void> {
    const stub = sessionStub(this.env, this.tokenHash);
    if (this.kind !== "image") {
      try {
        const entries = captionEntries(this.kind ?? "caption", this.name, this.text + this.decoder.decode());
        const set = await stub.setCaptions(this.tokenHash, entries, this.kind === "caption" ? "txt" : this.kind === "captions-json" ? "captions.json" : "captions.csv");
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
    if (this.upload) {
      if (this.pendingBytes > 0) await this.flushPart();
      await this.upload.complete(this.parts);
    } else {
      await this.env.STAGING.put(this.key, concat(this.pending, this.pendingBytes));
    }
    this.pending = [];
    const recorded = await stub.recordWhole(this.tokenHash, this.name, this.size, imageFormatOf(this.head));
    if (recorded.ok) this.report.images++;
    else this.refuse(this.name, recorded.error);
  }

  async abort(reason: string): Promise<void> {
    this.pending = [];
    await this.upload?.abort().catch(() => {});
    this.upload = undefined;
    this.refuse(this.name || this.path, reason);
    await sessionStub(this.env, this.tokenHash).rejectFile(this.tokenHash, this.name || this.path, reason);
  }

  private async flushPart(): Promise<void> {
    this.upload ??= await this.env.STAGING.createMultipartUpload(this.key);
    const all = concat(this.pending, this.pendingBytes);
    const take = Math.min(ENTRY_PART_BYTES, all.byteLength);
    this.parts.push(await this.upload.uploadPart(this.parts.length + 1, all.subarray(0, take)));
    const rest = all.subarray(take);
    this.pending = rest.byteLength > 0 ? [rest] : [];
    this.pendingBytes = rest.byteLength;
  }

  private refuse(name: string, reason: string): false {
    this.report.rejected.push({ name, reason });
    return false;
  }
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function imageFormatOf(head: Uint8Array): string | null {
  return sniffImage(head) ?? null;
}
