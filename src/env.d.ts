// Bindings that wrangler types cannot see because they are optional: TOOLKIT exists only
// once the [[vpc_services]] block in wrangler.toml is filled in (see tunnel/README.md).
interface Env {
  TOOLKIT?: Fetcher;
}
declare namespace Cloudflare {
  interface Env {
    TOOLKIT?: Fetcher;
  }
}

// The platform's base64 and hex codecs (TC39 "Uint8Array to/from base64"), which workerd
// has and the bundled TypeScript and workers-types do not declare yet.
interface Uint8ArrayBase64Options {
  alphabet?: "base64" | "base64url";
  /** "stop-before-partial" leaves an incomplete last group unread, for streaming. */
  lastChunkHandling?: "loose" | "strict" | "stop-before-partial";
}
interface Uint8Array<TArrayBuffer extends ArrayBufferLike = ArrayBufferLike> {
  toBase64(options?: { alphabet?: "base64" | "base64url"; omitPadding?: boolean }): string;
  /** Decodes into this array; `read` counts characters consumed, `written` bytes stored. */
  setFromBase64(text: string, options?: Uint8ArrayBase64Options): { read: number; written: number };
  toHex(): string;
  setFromHex(text: string): { read: number; written: number };
}
interface Uint8ArrayConstructor {
  /** Throws a SyntaxError on text that is not base64. */
  fromBase64(text: string, options?: Uint8ArrayBase64Options): Uint8Array<ArrayBuffer>;
  /** Throws a SyntaxError on text that is not an even number of hex digits. */
  fromHex(text: string): Uint8Array<ArrayBuffer>;
}
