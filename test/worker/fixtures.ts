/** Tiny but real image files, base64-encoded, for validation and upload tests. */
const PNG_BYTES = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);
export const PNG_BASE64 = btoa(String.fromCharCode(...PNG_BYTES));
export const JPEG_BASE64 = btoa(
  String.fromCharCode(0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0),
);
export const WEBP_BASE64 = btoa("RIFF\u0024\u0000\u0000\u0000WEBPVP8 ");
export const TEXT_BASE64 = btoa("just some text, not an image");
