// Byte-level facts of JSON text (RFC 8259) that the envelope parser works with.

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** Escape letter after "\" → the code unit it stands for ("\u" is handled apart). */
export const SIMPLE_ESCAPES: Readonly<Record<number, number>> = {
  0x22: 0x22, // \"
  0x5c: 0x5c, // \\
  0x2f: 0x2f, // \/  (some encoders escape every slash, and "/" is a base64 digit)
  0x62: 0x08, // \b
  0x66: 0x0c, // \f
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
};

/** The number grammar, checked once a number's characters have all been read. */
export const NUMBER_PATTERN = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export function isJsonWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Characters that can appear in a number: digits, "-", "+", ".", "e", "E". */
export function isNumberByte(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

export function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** "character 'x'" for printable ASCII, "byte 0x0a" for anything else. */
export function describeByte(c: number): string {
  return c >= 0x20 && c < 0x7f ? `character '${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, "0")}`;
}
