import { describe, expect, it } from "vitest";
import { crc32, encodePng, writeChunks } from "../../../src/charts/png";
import { toPalette } from "../../../src/charts/palette";
import { crc32Bitwise, decodePng } from "./decode-png";

function image(width: number, height: number, colourAt: (x: number, y: number) => number): Uint8Array {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = colourAt(x, y);
      rgb.set([c >> 16, (c >> 8) & 255, c & 255], (y * width + x) * 3);
    }
  }
  return rgb;
}

describe("crc32", () => {
  it("gives the standard check value and matches a bitwise implementation", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const bytes = new Uint8Array(1000).map((_, i) => (i * 37) ^ (i >> 3));
    expect(crc32(bytes)).toBe(crc32Bitwise(bytes));
    expect(crc32(bytes.subarray(400), crc32(bytes.subarray(0, 400)))).toBe(crc32(bytes));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe("encodePng", () => {
  it("writes a palette image when there are at most 256 colours, pixel for pixel", () => {
    const colourAt = (x: number, y: number) => ((x * 16) << 16) | ((y * 16) << 8) | 0x40;
    const png = encodePng(16, 10, image(16, 10, colourAt));
    const decoded = decodePng(png);
    expect(decoded).toMatchObject({ width: 16, height: 10, colorType: 3 });
    expect(decoded.chunks.map((c) => c.type)).toEqual(["IHDR", "PLTE", "IDAT", "IEND"]);
    for (let y = 0; y < 10; y++) for (let x = 0; x < 16; x++) expect(decoded.pixel(x, y)).toBe(colourAt(x, y));
  });

  it("writes filtered RGB, every filter type decoding back, when asked to keep many colours", () => {
    // A gradient, flat runs, noise and an edge: rows where None, Sub, Up, Average and Paeth win.
    let seed = 7;
    const noise = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const colourAt = (x: number, y: number) =>
      y < 8
        ? ((x * 3) << 16) | ((y * 9) << 8) | ((x + y) & 255)
        : y < 16
          ? 0x336699
          : y < 24
            ? (noise() << 16) | (noise() << 8) | noise()
            : x < 40
              ? 0xffffff
              : (x * 2) << 8;
    const rgb = image(90, 32, colourAt);
    const decoded = decodePng(encodePng(90, 32, rgb, { exact: true }));
    expect(decoded.colorType).toBe(2);
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 90; x++)
        expect(decoded.pixel(x, y)).toBe(
          ((rgb[(y * 90 + x) * 3]! << 16) | (rgb[(y * 90 + x) * 3 + 1]! << 8) | rgb[(y * 90 + x) * 3 + 2]!) >>> 0,
        );
  });

  it("reduces more than 256 colours to a palette keeping the frequent ones exact", () => {
    // Mostly white with a black frame and a red bar, plus 400 rare shades.
    const colourAt = (x: number, y: number) =>
      y === 0 || x === 0 ? 0x000000 : y < 5 ? 0xff0000 : y >= 20 ? (x << 16) | (y << 8) | 7 : 0xffffff;
    const rgb = image(200, 24, colourAt);
    const palette = toPalette(rgb);
    expect(palette.lossy).toBe(true);
    expect(palette.colours.length).toBe(256 * 3);
    const decoded = decodePng(encodePng(200, 24, rgb));
    expect(decoded.colorType).toBe(3);
    expect(decoded.pixel(0, 10)).toBe(0x000000);
    expect(decoded.pixel(50, 2)).toBe(0xff0000);
    expect(decoded.pixel(50, 10)).toBe(0xffffff);
    // Rare shades map to a near colour.
    const shade = decoded.pixel(151, 22);
    expect(Math.abs((shade >> 16) - 151)).toBeLessThan(40);
  });

  it("refuses a buffer of the wrong size", () => {
    expect(() => encodePng(10, 10, new Uint8Array(299))).toThrow(/10×10/);
  });

  it("frames chunks with length, type and CRC", () => {
    const png = writeChunks([["tEXt", new TextEncoder().encode("a\0b")]]);
    expect(png.length).toBe(8 + 12 + 3);
    expect(String.fromCharCode(...png.subarray(12, 16))).toBe("tEXt");
    expect(new DataView(png.buffer).getUint32(19)).toBe(crc32Bitwise(png.subarray(12, 19)));
  });
});
