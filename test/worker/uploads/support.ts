import { env } from "cloudflare:test";
import { createUploadSession } from "../../../src/uploads/create";

/** A deterministic "image": the format's magic number followed by seeded bytes. */
export function image(format: "png" | "jpeg" | "webp", size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  const magic =
    format === "png"
      ? [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
      : format === "jpeg"
        ? [0xff, 0xd8, 0xff, 0xe0]
        : [...ascii("RIFF"), 0, 0, 0, 0, ...ascii("WEBP")];
  bytes.set(magic.slice(0, size));
  return bytes;
}

function ascii(text: string): number[] {
  return [...text].map((c) => c.charCodeAt(0));
}

export async function newSession(
  datasetName = "cats",
  init: { defaultCaption?: string; triggerWord?: string; autoForward?: boolean } = {},
) {
  const created = await createUploadSession(env, "https://example.com", {
    datasetName,
    defaultCaption: init.defaultCaption ?? "",
    triggerWord: init.triggerWord ?? "",
    autoForward: init.autoForward,
  });
  const base = created.uploadUrl;
  return { ...created, base };
}

export function put(url: string, body: Uint8Array | string): RequestInit & { url: string } {
  return { url, method: "PUT", body };
}
