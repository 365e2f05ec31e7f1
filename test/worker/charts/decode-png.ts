import { unzlibSync } from "fflate";

/**
 * A small PNG decoder for tests, written apart from the encoder (its own bitwise CRC, all
 * five row filters): checks the signature and every chunk's CRC, and reads 8-bit truecolour
 * or palette images back into pixels.
 */

export interface DecodedPng {
  width: number;
  height: number;
  colorType: number;
  chunks: { type: string; length: number }[];
  /** 0xRRGGBB at x, y. */
  pixel(x: number, y: number): number;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function crc32Bitwise(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

export function decodePng(png: Uint8Array): DecodedPng {
  SIGNATURE.forEach((byte, i) => {
    if (png[i] !== byte) throw new Error(`bad signature byte ${i}`);
  });
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: { type: string; length: number }[] = [];
  const idat: Uint8Array[] = [];
  let header: { width: number; height: number; bitDepth: number; colorType: number } | undefined;
  let palette: Uint8Array | undefined;
  let at = 8;
  while (at < png.length) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    const data = png.subarray(at + 8, at + 8 + length);
    const stored = view.getUint32(at + 8 + length);
    const computed = crc32Bitwise(png.subarray(at + 4, at + 8 + length));
    if (stored !== computed) throw new Error(`${type}: CRC ${stored.toString(16)} should be ${computed.toString(16)}`);
    chunks.push({ type, length });
    if (type === "IHDR") {
      const h = new DataView(data.buffer, data.byteOffset, data.byteLength);
      header = { width: h.getUint32(0), height: h.getUint32(4), bitDepth: data[8]!, colorType: data[9]! };
      if (data[10] !== 0 || data[11] !== 0 || data[12] !== 0)
        throw new Error("unexpected compression, filter or interlace method");
    }
    if (type === "PLTE") palette = data.slice();
    if (type === "IDAT") idat.push(data);
    at += 12 + length;
    if (type === "IEND") break;
  }
  if (at !== png.length) throw new Error("bytes after IEND");
  if (!header) throw new Error("no IHDR");
  if (chunks[0]?.type !== "IHDR" || chunks[chunks.length - 1]?.type !== "IEND")
    throw new Error("IHDR must come first and IEND last");
  const { width, height, bitDepth, colorType } = header;
  if (bitDepth !== 8 || (colorType !== 2 && colorType !== 3))
    throw new Error(`unsupported bit depth ${bitDepth} / colour type ${colorType}`);
  if (colorType === 3 && !palette) throw new Error("palette image without PLTE");

  const joined = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
  idat.reduce((offset, d) => (joined.set(d, offset), offset + d.length), 0);
  const raw = unzlibSync(joined);
  const bpp = colorType === 2 ? 3 : 1;
  const stride = width * bpp;
  if (raw.length !== height * (stride + 1))
    throw new Error(`IDAT holds ${raw.length} bytes, expected ${height * (stride + 1)}`);
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const out = pixels.subarray(y * stride, (y + 1) * stride);
    const up = y > 0 ? pixels.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[i - bpp]! : 0;
      const b = up[i]!;
      const c = i >= bpp ? up[i - bpp]! : 0;
      let predictor: number;
      if (filter === 0) predictor = 0;
      else if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        predictor = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else throw new Error(`row ${y}: filter type ${filter}`);
      out[i] = (line[i]! + predictor) & 255;
    }
  }
  const pixel = (x: number, y: number): number => {
    if (x < 0 || y < 0 || x >= width || y >= height) throw new Error(`pixel ${x},${y} outside ${width}×${height}`);
    if (colorType === 2) {
      const i = (y * width + x) * 3;
      return (pixels[i]! << 16) | (pixels[i + 1]! << 8) | pixels[i + 2]!;
    }
    const index = pixels[y * width + x]!;
    if (index * 3 + 2 >= palette!.length) throw new Error(`palette index ${index} past the palette`);
    return (palette![index * 3]! << 16) | (palette![index * 3 + 1]! << 8) | palette![index * 3 + 2]!;
  };
  return { width, height, colorType, chunks, pixel };
}

/** Squared RGB distance between two 0xRRGGBB colours. */
export function colourDistance2(a: number, b: number): number {
  const dr = (a >> 16) - (b >> 16);
  const dg = ((a >> 8) & 255) - ((b >> 8) & 255);
  const db = (a & 255) - (b & 255);
  return dr * dr + dg * dg + db * db;
}

/** A deterministic pseudo-random source (LCG) and noisy loss curves from it. */
export function noisyLoss(
  n: number,
  options: { seed?: number; base?: number; drop?: number; noise?: number; stepEvery?: number } = {},
) {
  let seed = options.seed ?? 1;
  const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const gauss = () => Math.sqrt(-2 * Math.log(random() + 1e-12)) * Math.cos(2 * Math.PI * random());
  const { base = 0.3, drop = 0.2, noise = 0.3, stepEvery = 1 } = options;
  return Array.from({ length: n }, (_, i) => {
    const mean = base + drop * Math.exp(-i / (n / 6));
    return { step: (i + 1) * stepEvery, value: Math.max(1e-4, mean * (1 + noise * gauss())) };
  });
}
