import { batchedReader, type ChunkReader } from "./batched-reader";
import { UploadBodyError } from "./errors";

/**
 * A request body assembled on demand from sources of declared size (staged files in R2), for
 * either upstream's dataset upload: it reads a source only as fast as the consumer pulls, so a
 * body of hundreds of MB never sits in the isolate's memory. Cancelling the body cancels the
 * source being read.
 */
export class StreamedBody {
  private reading: ChunkReader | null = null;
  private cancelled = false;

  /**
   * One source's bytes, checked against its declared size: a source with more or fewer bytes
   * than `size` fails the body with UploadBodyError, since the body's length was promised.
   * Ends early, without error, when the body was cancelled.
   */
  async *source(
    open: () => Promise<ReadableStream<Uint8Array>>,
    size: number,
    label: string,
  ): AsyncGenerator<Uint8Array> {
    const reader = batchedReader(await open(), size);
    this.reading = reader;
    let complete = false;
    try {
      let seen = 0;
      for (;;) {
        const next = await reader.read();
        if (this.cancelled) return;
        if (next.done) break;
        seen += next.value.byteLength;
        if (seen > size) {
          throw new UploadBodyError(
            `${label} has more bytes than its declared size of ${size}: the staged file changed since it ` +
              `was measured; upload it again`,
          );
        }
        yield next.value;
      }
      complete = true;
      if (seen !== size) {
        throw new UploadBodyError(
          `${label} ended after ${seen} bytes but its declared size is ${size}: the staged file is ` +
            `incomplete; upload it again`,
        );
      }
    } finally {
      this.reading = null;
      // Stop a source that still has bytes (error or cancel); a finished one is closed.
      if (!complete) await reader.cancel().catch(() => {});
      else reader.releaseLock();
    }
  }

  /** Whether the consumer cancelled the body: a producer stops instead of framing what follows. */
  get wasCancelled(): boolean {
    return this.cancelled;
  }

  /** The body as a stream that pulls `chunks` one at a time: nothing is read ahead of the consumer. */
  stream(chunks: AsyncGenerator<Uint8Array>): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const next = await chunks.next();
          if (next.done) {
            if (!this.cancelled) controller.close();
          } else {
            controller.enqueue(next.value);
          }
        },
        cancel: async (reason: unknown) => {
          this.cancelled = true;
          // Unblocks a read in progress; then `return` runs the generator's cleanup.
          await this.reading?.cancel(reason).catch(() => {});
          await chunks.return(undefined);
        },
      },
      { highWaterMark: 0 },
    );
  }
}
