import { env } from "cloudflare:workers";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";

/** Deterministic pseudo-random bytes (xorshift), so every run stages the same file. */
export function bytesOf(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A valid safetensors file: header with one F32 tensor and `__metadata__`, then `payload` bytes of data. */
export function safetensorsFile(
  payload: number,
  metadata: Record<string, string> = { ss_network_dim: "16" },
): Uint8Array {
  const header = JSON.stringify({
    __metadata__: metadata,
    "lora.down.weight": { dtype: "U8", shape: [payload], data_offsets: [0, payload] },
  });
  const json = new TextEncoder().encode(header);
  const file = new Uint8Array(8 + json.length + payload);
  new DataView(file.buffer).setBigUint64(0, BigInt(json.length), true);
  file.set(json, 8);
  file.set(bytesOf(payload, 7), 8 + json.length);
  return file;
}

export function base64(bytes: Uint8Array): string {
  let out = "";
  // Slices of a multiple of 3 bytes encode independently and concatenate without padding.
  for (let i = 0; i < bytes.length; i += 3 * 8192) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + 3 * 8192)));
  }
  return out;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export interface AnswerOptions {
  /** Bytes per chunk of the answer body (odd sizes put boundaries everywhere). */
  chunk?: number;
  /** Stop the body after this many bytes, as a dropped tunnel would. */
  cutAt?: number;
  /** Replace the base64 text (e.g. with corrupt characters). */
  data?: string;
  /** result.size as reported; defaults to the true size. */
  size?: number;
}

/** The toolkit's download_model answer for `file`, streamed in chunks. */
export function downloadAnswer(name: string, file: Uint8Array, options: AnswerOptions = {}): () => Response {
  return () => {
    const data = options.data ?? base64(file);
    const text =
      `{"success": true, "result": {"status": "success", "model": ${JSON.stringify(name)}, "data": ` +
      `"${data}", "size": ${options.size ?? file.length}}, "error": null}`;
    const bytes = new TextEncoder().encode(text);
    const end = options.cutAt ?? bytes.length;
    const chunk = options.chunk ?? 65_536;
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (at >= end) return controller.close();
        controller.enqueue(bytes.slice(at, Math.min(at + chunk, end)));
        at += chunk;
      },
    });
    return new Response(body, { headers: { "Content-Type": "application/json" } });
  };
}

/** A toolkit that lists one model and answers download_model with `answer`. */
export function toolkitWith(name: string, size: number, answer: () => Response): ScriptedToolkit {
  return new ScriptedToolkit()
    .on("list_exported_models", {
      result: { models: [{ name, path: `/ai-toolkit/outputs/${name}.safetensors`, size }] },
    })
    .on("download_model", { response: answer });
}

/** Every key in the staging bucket under a prefix. */
export async function keysUnder(prefix: string): Promise<string[]> {
  const listing = await env.STAGING.list({ prefix });
  return listing.objects.map((o) => o.key);
}

let counter = 0;
/** A model name no other test uses (the bucket is shared between tests of a file). */
export function uniqueName(stem: string): string {
  counter++;
  return `${stem}_${Date.now().toString(36)}_${counter}`;
}
