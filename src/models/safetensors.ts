/**
 * The safetensors header: 8 bytes of little-endian header length, then that many bytes of
 * JSON mapping tensor names to {dtype, shape, data_offsets}, plus an optional
 * `__metadata__` object of strings (ai-toolkit writes its training settings there).
 * Only the header is ever read, and only up to a bound, so a huge or hostile file cannot
 * make the Worker hold more than MAX_HEADER_BYTES.
 */

export const MAX_HEADER_BYTES = 8 * 1024 * 1024;
/** Metadata values are returned to MCP clients: keep each one readable, not megabytes. */
const MAX_METADATA_VALUE_CHARS = 4000;

export interface SafetensorsInfo {
  /** Number of tensors in the file. */
  tensors: number;
  /** `__metadata__`, each value cut to a readable length. */
  metadata: Record<string, string>;
}

/** The header's length if `head` starts like a safetensors file of `fileSize` bytes. */
export function headerLength(head: Uint8Array, fileSize: number): number | undefined {
  if (head.byteLength < 9) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const length = view.getBigUint64(0, true);
  if (length < 2n || length > BigInt(MAX_HEADER_BYTES) || 8n + length > BigInt(fileSize)) return undefined;
  // The JSON starts with "{" (writers may pad the end with spaces, never the start).
  return head[8] === 0x7b ? Number(length) : undefined;
}

/** Parses the header JSON; undefined when it is not a safetensors header. */
export function parseHeader(json: Uint8Array): SafetensorsInfo | undefined {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(json));
  } catch {
    return undefined;
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return undefined;
  let tensors = 0;
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") {
      if (typeof value !== "object" || value === null) continue;
      for (const [key, text] of Object.entries(value)) {
        const full = typeof text === "string" ? text : JSON.stringify(text);
        metadata[key] =
          full.length > MAX_METADATA_VALUE_CHARS ? `${full.slice(0, MAX_METADATA_VALUE_CHARS)}… (cut)` : full;
      }
      continue;
    }
    if (!isTensorEntry(value)) return undefined;
    tensors++;
  }
  return { tensors, metadata };
}

function isTensorEntry(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return typeof entry.dtype === "string" && Array.isArray(entry.shape) && Array.isArray(entry.data_offsets);
}

/**
 * Reads the header of a staged file: from `head` (the first bytes, already in memory) when it
 * holds the whole header, otherwise with one ranged read from R2.
 */
export async function readSafetensorsInfo(
  bucket: R2Bucket,
  key: string,
  head: Uint8Array,
  fileSize: number,
): Promise<SafetensorsInfo | undefined> {
  const length = headerLength(head, fileSize);
  if (length === undefined) return undefined;
  if (head.byteLength >= 8 + length) return parseHeader(head.subarray(8, 8 + length));
  const object = await bucket.get(key, { range: { offset: 8, length } });
  if (!object) return undefined;
  return parseHeader(new Uint8Array(await object.arrayBuffer()));
}
