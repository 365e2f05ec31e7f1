import { createCipheriv, createHash } from "node:crypto";

/**
 * Deterministic test images, generated on the fly and never committed: AES-CTR keystream
 * (fast, incompressible like real photos) behind a real PNG or JPEG magic number.
 */
export function testImage(seed: string, size: number, format: "png" | "jpeg" = "png"): Uint8Array<ArrayBuffer> {
  const key = createHash("sha256").update(seed).digest();
  const cipher = createCipheriv("aes-256-ctr", key, Buffer.alloc(16));
  const bytes = new Uint8Array(cipher.update(Buffer.alloc(size)));
  bytes.set(format === "png" ? [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a] : [0xff, 0xd8, 0xff, 0xe0]);
  return bytes;
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Runs tasks with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(workers);
}
