/**
 * Reduces an RGB image to at most 256 colours for a palette PNG (one byte per pixel instead
 * of three, and much better compression). Charts have few colours: a background, greys for
 * text and grid, a handful of series colours and their anti-aliased blends. Up to 256 the
 * palette is exact; past that the most frequent colours are kept, first those far apart
 * from each other (so a rare text colour is not crowded out by shades of one trace), then
 * the rest by frequency, and every other colour maps to its nearest entry.
 */

export interface Palette {
  /** 3 bytes per entry. */
  colours: Uint8Array;
  /** One palette index per pixel. */
  indices: Uint8Array;
  /** Whether some colours were replaced by a near one. */
  lossy: boolean;
}

const MAX = 256;
/** Minimum squared RGB distances between colours picked in successive passes. */
const SPREAD = [64 * 64, 32 * 32, 16 * 16, 8 * 8, 0];

export function toPalette(rgb: Uint8Array): Palette {
  const pixels = rgb.length / 3;
  const counts = new Map<number, number>();
  let last = -1;
  let run = 0;
  for (let i = 0; i < rgb.length; i += 3) {
    const colour = (rgb[i]! << 16) | (rgb[i + 1]! << 8) | rgb[i + 2]!;
    if (colour === last) {
      run++;
      continue;
    }
    if (last >= 0) counts.set(last, (counts.get(last) ?? 0) + run);
    last = colour;
    run = 1;
  }
  if (last >= 0) counts.set(last, (counts.get(last) ?? 0) + run);

  const chosen = counts.size <= MAX ? [...counts.keys()] : pickColours(counts);
  const indexOf = new Map<number, number>();
  chosen.forEach((colour, index) => indexOf.set(colour, index));
  const lossy = chosen.length < counts.size;
  if (lossy) for (const colour of counts.keys()) if (!indexOf.has(colour)) indexOf.set(colour, nearest(colour, chosen));

  const colours = new Uint8Array(chosen.length * 3);
  chosen.forEach((colour, index) => {
    colours[index * 3] = colour >> 16;
    colours[index * 3 + 1] = (colour >> 8) & 255;
    colours[index * 3 + 2] = colour & 255;
  });
  const indices = new Uint8Array(pixels);
  last = -1;
  let lastIndex = 0;
  for (let p = 0, i = 0; p < pixels; p++, i += 3) {
    const colour = (rgb[i]! << 16) | (rgb[i + 1]! << 8) | rgb[i + 2]!;
    if (colour !== last) {
      last = colour;
      lastIndex = indexOf.get(colour)!;
    }
    indices[p] = lastIndex;
  }
  return { colours, indices, lossy };
}

function pickColours(counts: Map<number, number>): number[] {
  const byFrequency = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([colour]) => colour);
  const chosen: number[] = [];
  const taken = new Set<number>();
  for (const spread of SPREAD) {
    for (const colour of byFrequency) {
      if (chosen.length === MAX) return chosen;
      if (taken.has(colour)) continue;
      if (spread > 0 && distance2(colour, chosen[nearest(colour, chosen)] ?? -1) < spread) continue;
      chosen.push(colour);
      taken.add(colour);
    }
  }
  return chosen;
}

function nearest(colour: number, among: readonly number[]): number {
  let best = 0;
  let bestDistance = Infinity;
  for (let i = 0; i < among.length; i++) {
    const d = distance2(colour, among[i]!);
    if (d < bestDistance) {
      bestDistance = d;
      best = i;
    }
  }
  return best;
}

function distance2(a: number, b: number): number {
  if (b < 0) return Infinity;
  const dr = (a >> 16) - (b >> 16);
  const dg = ((a >> 8) & 255) - ((b >> 8) & 255);
  const db = (a & 255) - (b & 255);
  // Weighted towards green, as the eye is (a cheap stand-in for perceptual distance).
  return 2 * dr * dr + 4 * dg * dg + 3 * db * db;
}
