// A baseline JPEG encoder for images made of flat 8×8 blocks, without any dependency.
//
// The simulated trainer writes its samples and their 300 px thumbnails with it, so every
// `.jpg` it leaves behind is a real JPEG (any decoder opens it, its size is the one the config
// asked for) while the encoder stays tiny: a flat block has only a DC coefficient, so the
// entropy-coded data is just DC differences and an end-of-block code per block. Colour
// (YCbCr, 4:4:4), one quantisation table of ones, the standard DC Huffman table of JPEG's
// Annex K, and an AC table that holds nothing but end-of-block.

export type Rgb = readonly [number, number, number];

const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_VALUES = [0x00];

/** Canonical Huffman codes (Annex C): symbol -> [code, length]. */
function huffmanCodes(bits: readonly number[], values: readonly number[]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let length = 1; length <= 16; length++) {
    for (let i = 0; i < (bits[length - 1] ?? 0); i++) codes.set(values[k++] ?? 0, [code++, length]);
    code <<= 1;
  }
  return codes;
}

const DC_CODES = huffmanCodes(DC_BITS, DC_VALUES);
const EOB = huffmanCodes(AC_BITS, AC_VALUES).get(0x00) ?? [0, 1];

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private count = 0;

  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.count === 8) {
        this.bytes.push(this.acc);
        // A 0xFF in entropy-coded data must be followed by a stuffed zero byte.
        if (this.acc === 0xff) this.bytes.push(0);
        this.acc = 0;
        this.count = 0;
      }
    }
  }

  /** Pads the last byte with one bits, as the standard asks. */
  finish(): void {
    while (this.count !== 0) this.put(1, 1);
  }
}

function segment(marker: number, body: readonly number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

function ycbcr([r, g, b]: Rgb): [number, number, number] {
  return [
    0.299 * r + 0.587 * g + 0.114 * b,
    128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
    128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
  ];
}

function bitLength(n: number): number {
  let bits = 0;
  while (n > 0) {
    bits++;
    n >>= 1;
  }
  return bits;
}

/**
 * Encodes a `width`×`height` image whose 8×8 block (bx, by) has the flat colour
 * `blockColour(bx, by)`. Dimensions are clamped to 1..4096.
 */
export function encodeBlockJpeg(width: number, height: number, blockColour: (bx: number, by: number) => Rgb): Buffer {
  const w = Math.min(4096, Math.max(1, Math.floor(width)));
  const h = Math.min(4096, Math.max(1, Math.floor(height)));
  const header: number[] = [0xff, 0xd8];
  header.push(...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0]));
  header.push(...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]));
  header.push(...segment(0xc0, [8, h >> 8, h & 0xff, w >> 8, w & 0xff, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]));
  header.push(...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES, 0x10, ...AC_BITS, ...AC_VALUES]));
  header.push(...segment(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]));

  const bits = new BitWriter();
  const previous = [0, 0, 0];
  const blocksX = Math.ceil(w / 8);
  const blocksY = Math.ceil(h / 8);
  for (let by = 0; by < blocksY; by++) {
    for (let bx = 0; bx < blocksX; bx++) {
      const components = ycbcr(blockColour(bx, by));
      for (let c = 0; c < 3; c++) {
        // A flat block's DC coefficient is 8 × (value − 128); the quantiser is 1.
        const dc = Math.round(8 * (Math.min(255, Math.max(0, components[c] ?? 0)) - 128));
        const diff = dc - (previous[c] ?? 0);
        previous[c] = dc;
        const size = bitLength(Math.abs(diff));
        const [code, length] = DC_CODES.get(size) ?? [0, 0];
        bits.put(code, length);
        if (size > 0) bits.put(diff < 0 ? diff + (1 << size) - 1 : diff, size);
        bits.put(EOB[0], EOB[1]);
      }
    }
  }
  bits.finish();
  return Buffer.from([...header, ...bits.bytes, 0xff, 0xd9]);
}

/** A soft diagonal gradient between two colours, the look of the simulated samples. */
export function gradientJpeg(width: number, height: number, from: Rgb, to: Rgb): Buffer {
  const blocksX = Math.max(1, Math.ceil(width / 8));
  const blocksY = Math.max(1, Math.ceil(height / 8));
  const span = Math.max(1, blocksX + blocksY - 2);
  return encodeBlockJpeg(width, height, (bx, by) => {
    const t = (bx + by) / span;
    return [0, 1, 2].map((i) => (from[i] ?? 0) + ((to[i] ?? 0) - (from[i] ?? 0)) * t) as unknown as Rgb;
  });
}
