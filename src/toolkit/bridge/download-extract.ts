// Turns the toolkit's `download_model` answer — one JSON object whose `result.data` is the
// whole model in base64 — into a stream of the model's bytes plus the rest of the envelope.
//
// Consumption contract: read `data` (typically piping it to R2) while awaiting `envelope`.
// Both orders of the fields work, because only emitting decoded bytes ever waits for the
// reader; the rest of the envelope is small and parsed without waiting. `data` closes only
// once the whole answer has parsed, so a truncated or malformed answer errors it (and an
// R2 upload fed from it fails) instead of leaving a plausible-looking partial file.

import { EnvelopeParser } from "./envelope-parser";
import type { EnvelopeLimits, JsonObject } from "./json-stream";

/** Every field of the answer except the extracted one, as JSON.parse would give it. */
export type ExtractedEnvelope = JsonObject;

export interface ExtractedDownload {
  /** The decoded bytes of the field. Empty when the field is absent (e.g. `success:false`). */
  data: ReadableStream<Uint8Array>;
  /** Resolves once the whole answer has parsed; rejects like `data` does on bad input. */
  envelope: Promise<ExtractedEnvelope>;
}

/** Decoded bytes queued in `data` before reading more input waits for its reader. */
const DATA_HIGH_WATER_BYTES = 256 * 1024;

/**
 * Streams the base64 string at `fieldPath` out of a JSON answer as decoded bytes.
 *
 * Errors: malformed or truncated JSON rejects both with a JsonStreamError; a corrupt
 * base64 string, with a Base64Error; a failing input, with its own error. Cancelling
 * `data` cancels `input` and rejects `envelope`.
 */
export function extractBase64Field(
  input: ReadableStream<Uint8Array>,
  fieldPath: readonly string[] = ["result", "data"],
  limits: Partial<EnvelopeLimits> = {},
): ExtractedDownload {
  const parser = new EnvelopeParser(fieldPath, limits);
  const reader = input.getReader();

  let resolveEnvelope: (value: ExtractedEnvelope) => void = () => {};
  let rejectEnvelope: (reason: unknown) => void = () => {};
  const envelope = new Promise<ExtractedEnvelope>((resolve, reject) => {
    resolveEnvelope = resolve;
    rejectEnvelope = reject;
  });
  // A caller that only reads `data` still learns of failures there; do not also report
  // the same failure as an unhandled rejection.
  envelope.catch(() => {});

  let wakePump: (() => void) | null = null;
  let cancelled = false;
  const wake = (): void => {
    const resume = wakePump;
    wakePump = null;
    resume?.();
  };

  const pump = async (out: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    try {
      for (;;) {
        // Backpressure: wait while the reader of `data` is behind. Only decoded bytes are
        // ever queued, so an answer without the field, or the envelope after a drained
        // field, is parsed without waiting for anyone.
        while (!cancelled && (out.desiredSize ?? 1) <= 0) {
          await new Promise<void>((resolve) => (wakePump = resolve));
        }
        if (cancelled) return;
        const next = await reader.read();
        if (cancelled) return;
        if (next.done) break;
        const bytes = parser.write(next.value);
        if (bytes.length > 0) out.enqueue(bytes);
      }
      const result = parser.end();
      out.close();
      resolveEnvelope(result);
    } catch (error) {
      if (cancelled) return;
      out.error(error);
      rejectEnvelope(error);
      reader.cancel(error).catch(() => {});
    }
  };

  const data = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        void pump(controller);
      },
      pull() {
        wake();
      },
      async cancel(reason: unknown) {
        cancelled = true;
        wake();
        rejectEnvelope(
          reason instanceof Error
            ? reason
            : new Error("the model download was cancelled before the toolkit's answer was read to the end"),
        );
        await reader.cancel(reason);
      },
    },
    { highWaterMark: DATA_HIGH_WATER_BYTES, size: (chunk) => chunk.byteLength },
  );

  return { data, envelope };
}
