import type { Raster, Rgb } from "./raster";

/**
 * A 5×7 bitmap font of our own (printable ASCII), drawn with integer scaling: no font files,
 * nothing fetched. Each glyph is 9 rows of 5 pixels: rows 0-6 hold capitals and digits (the
 * baseline is under row 6), rows 7-8 the descenders of g, j, p, q, y, the comma and `_`.
 *
 * GLYPHS holds 9 base-32 digits per character, from space (32) to `~` (126); a digit is one
 * row, bit 4 the leftmost pixel. "0400" reads: row 0 empty, row 1 has its middle pixel set...
 * Glyphs are proportional (trimmed to their inked columns, one pixel apart) except digits,
 * which keep all 5 columns so tick labels line up.
 */
const GLYPHS =
  // space ! " # $ % & ' ( ) * + , - . /
  "000000000444440400aaa000000aavavaa004fke5u400op248j300cik8lid0044800000024888420084222480004lel4000044v44000" +
  "00000088g000e00000000000g00122488g00" +
  // 0-9 : ; < = > ? @
  "ehhhhhe004c4444e00eh1248v00eh161he0026aiv2200vgu11he0068guhhe00v12488800ehhehhe00ehhf12c0000g000g0000800088g" +
  "248g8420000v0v0000842124800eh1240400ehnlngf00" +
  // A-Z [ \ ] ^ _ `
  "ehhvhhh00uhhuhhu00ehggghe00uhhhhhu00vgguggv00vgguggg00ehgnhhf00hhhvhhh00s88888s0072222ic00hikokih00ggggggv00" +
  "hrllhhh00hhpljhh00ehhhhhe00uhhuggg00ehhhlid00uhhukih00fgge11u00v44444400hhhhhhe00hhhhha400hhhllla00hha4ahh00" +
  "hha444400v1248gv00sgggggs00g88422100s44444s004ah0000000000000v0g80000000" +
  // a-z { | } ~
  "00e1fhf00gguhhhu0000fgggf0011fhhhf0000ehvge00688u8880000fhhhf1egguhhhh0080o888s002062222icggikoki00o88888s00" +
  "00qllll0000mphhh0000ehhhe0000uhhhugg00fhhhf1100mpggg0000fge1u0088u88960000hhhjd0000hhha40000hhlla0000ha4ah00" +
  "00hhhhf1e00v248v00688g88600gggggggggc22122c000008l2000";

const ROWS = 9;
/** Height of a capital or a digit, in font pixels. */
export const CAP_HEIGHT = 7;
/** Height of a line of text including descenders, in font pixels. */
export const LINE_HEIGHT = ROWS;

interface Glyph {
  rows: Uint8Array;
  /** The leftmost inked column (0-4), so trimmed glyphs draw from there. */
  left: number;
  width: number;
}

let glyphs: Glyph[] | undefined;

function glyphTable(): Glyph[] {
  if (glyphs) return glyphs;
  glyphs = [];
  for (let code = 32; code < 127; code++) {
    const rows = new Uint8Array(ROWS);
    let ink = 0;
    for (let r = 0; r < ROWS; r++) {
      rows[r] = parseInt(GLYPHS[(code - 32) * ROWS + r] ?? "0", 32);
      ink |= rows[r]!;
    }
    const digit = code >= 48 && code <= 57;
    if (ink === 0 || digit) {
      glyphs.push({ rows, left: 0, width: ink === 0 ? 3 : 5 });
      continue;
    }
    let left = 0;
    while (!(ink & (16 >> left))) left++;
    let right = 4;
    while (!(ink & (16 >> right))) right--;
    glyphs.push({ rows, left, width: right - left + 1 });
  }
  return glyphs;
}

function glyphFor(char: string): Glyph {
  const table = glyphTable();
  const code = char.charCodeAt(0);
  return table[code >= 32 && code < 127 ? code - 32 : 31]!; // anything else draws as "?"
}

/** Width in pixels of `text` drawn at `scale` (no trailing gap). */
export function measureText(text: string, scale = 1): number {
  let width = 0;
  for (const char of text) width += glyphFor(char).width + 1;
  return Math.max(0, width - 1) * scale;
}

export interface TextStyle {
  color: Rgb;
  scale?: number;
  alpha?: number;
  /** Rotated a quarter turn counterclockwise, reading bottom to top (for a y axis title). */
  vertical?: boolean;
}

/**
 * Draws `text` with its top-left corner (the top of a capital) at x, y; a vertical text's
 * first character sits at the bottom, x, y being the bottom-left corner of its box.
 * Returns the advance in pixels.
 */
export function drawText(raster: Raster, x: number, y: number, text: string, style: TextStyle): number {
  const scale = Math.max(1, Math.round(style.scale ?? 1));
  const alpha = style.alpha ?? 1;
  let pen = 0;
  for (const char of text) {
    const glyph = glyphFor(char);
    for (let r = 0; r < ROWS; r++) {
      const bits = glyph.rows[r]!;
      if (!bits) continue;
      for (let c = 0; c < glyph.width; c++) {
        if (!(bits & (16 >> (glyph.left + c)))) continue;
        const gx = (pen + c) * scale;
        const gy = r * scale;
        if (style.vertical) raster.fillRect(x + gy, y - gx - scale, scale, scale, style.color, alpha);
        else raster.fillRect(x + gx, y + gy, scale, scale, style.color, alpha);
      }
    }
    pen += glyph.width + 1;
  }
  return Math.max(0, pen - 1) * scale;
}
