/**
 * A canvas-like pixel buffer for the Worker (no DOM, no canvas): opaque RGB pixels, filled
 * rectangles, and anti-aliased polylines with alpha blending.
 *
 * Coordinates are continuous: pixel (i, j) covers [i, i+1) × [j, j+1), its centre is at
 * (i + 0.5, j + 0.5). A polyline is rasterised into a coverage mask first (each pixel keeps
 * the highest coverage any segment gives it) and blended once, so joints and overlapping
 * segments of one line do not darken where they meet.
 */

/** A colour as 0xRRGGBB. */
export type Rgb = number;

/** Left and top inclusive, right and bottom exclusive, in whole pixels. */
export interface Rect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export interface StrokeStyle {
  color: Rgb;
  /** Line width in pixels (1 draws a one-pixel anti-aliased line). */
  width?: number;
  alpha?: number;
}

const COVERAGE_LEVELS = 16;

export class Raster {
  /** RGB, 3 bytes per pixel, row after row. */
  readonly data: Uint8Array;
  /** Drawing outside this rectangle is ignored; defaults to the whole raster. */
  clip: Rect;
  private mask: Uint8Array | undefined;
  private dirty: Rect = emptyRect();

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb,
  ) {
    this.data = new Uint8Array(width * height * 3);
    this.clip = this.bounds();
    this.fillRect(0, 0, width, height, background);
  }

  bounds(): Rect {
    return { left: 0, top: 0, right: this.width, bottom: this.height };
  }

  /** The colour at a pixel (for tests and for reading back). */
  pixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return (this.data[i]! << 16) | (this.data[i + 1]! << 8) | this.data[i + 2]!;
  }

  /** Blends `color` over the pixel at integer x, y with opacity `alpha` (0-1). */
  blend(x: number, y: number, color: Rgb, alpha: number): void {
    const c = this.clip;
    if (x < c.left || x >= c.right || y < c.top || y >= c.bottom || alpha <= 0) return;
    const i = (y * this.width + x) * 3;
    const d = this.data;
    if (alpha >= 1) {
      d[i] = color >> 16;
      d[i + 1] = (color >> 8) & 255;
      d[i + 2] = color & 255;
      return;
    }
    d[i] = d[i]! + ((color >> 16) - d[i]!) * alpha + 0.5;
    d[i + 1] = d[i + 1]! + (((color >> 8) & 255) - d[i + 1]!) * alpha + 0.5;
    d[i + 2] = d[i + 2]! + ((color & 255) - d[i + 2]!) * alpha + 0.5;
  }

  /** Fills the whole pixels of x, y, w, h (rounded), clipped. */
  fillRect(x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
    const c = this.clip;
    const x0 = Math.max(c.left, Math.round(x));
    const x1 = Math.min(c.right, Math.round(x + w));
    const y0 = Math.max(c.top, Math.round(y));
    const y1 = Math.min(c.bottom, Math.round(y + h));
    if (alpha < 1) {
      for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.blend(px, py, color, alpha);
      return;
    }
    const d = this.data;
    for (let py = y0; py < y1; py++) {
      for (let i = (py * this.width + x0) * 3, end = (py * this.width + x1) * 3; i < end; i += 3) {
        d[i] = color >> 16;
        d[i + 1] = (color >> 8) & 255;
        d[i + 2] = color & 255;
      }
    }
  }

  /**
   * Strokes the polyline through (xs[i], ys[i]). A non-finite coordinate breaks the line
   * there. A polyline of one point draws a dot as wide as the line.
   */
  strokePolyline(xs: ArrayLike<number>, ys: ArrayLike<number>, style: StrokeStyle): void {
    const half = (style.width ?? 1) / 2;
    const n = Math.min(xs.length, ys.length);
    for (let i = 0; i < n; i++) {
      const x = xs[i]!;
      const y = ys[i]!;
      if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
      const px = i > 0 ? xs[i - 1]! : NaN;
      const py = i > 0 ? ys[i - 1]! : NaN;
      if (Number.isFinite(px) && Number.isFinite(py)) this.coverSegment(px, py, x, y, half);
      else if (!(i + 1 < n && Number.isFinite(xs[i + 1]!) && Number.isFinite(ys[i + 1]!)))
        this.coverSegment(x, y, x, y, half);
    }
    this.composite(style.color, style.alpha ?? 1);
  }

  /** A filled anti-aliased disc. */
  dot(x: number, y: number, radius: number, color: Rgb, alpha = 1): void {
    this.coverSegment(x, y, x, y, radius);
    this.composite(color, alpha);
  }

  /** Adds the coverage of a segment with round caps, `half` pixels either side of it. */
  private coverSegment(x0: number, y0: number, x1: number, y1: number, half: number): void {
    const reach = half + 0.5;
    const c = this.clip;
    const clipped = clipSegment(x0, y0, x1, y1, c.left - reach, c.top - reach, c.right + reach, c.bottom + reach);
    if (!clipped) return;
    [x0, y0, x1, y1] = clipped;
    const dx = x1 - x0;
    const dy = y1 - y0;
    const len2 = dx * dx + dy * dy;
    const len = Math.sqrt(len2);
    const mask = (this.mask ??= new Uint8Array(this.width * this.height));
    const width = this.width;
    const reach2 = reach * reach;
    const dirty = this.dirty;
    // Walk the major axis; across it, cover the band the line and its caps can reach.
    const alongX = Math.abs(dx) >= Math.abs(dy);
    const [a0, a1, b0, da, db] = alongX ? [x0, x1, y0, dx, dy] : [y0, y1, x0, dy, dx];
    const extent = (da === 0 ? reach : (reach * len) / Math.abs(da)) + 1;
    const from = Math.floor(Math.min(a0, a1) - reach);
    const to = Math.floor(Math.max(a0, a1) + reach);
    for (let a = from; a <= to; a++) {
      const t = da === 0 ? 0 : Math.min(1, Math.max(0, (a + 0.5 - a0) / da));
      const b = b0 + t * db;
      const kTo = Math.floor(b + extent);
      for (let k = Math.floor(b - extent); k <= kTo; k++) {
        const px = alongX ? a : k;
        const py = alongX ? k : a;
        if (px < c.left || px >= c.right || py < c.top || py >= c.bottom) continue;
        const cx = px + 0.5 - x0;
        const cy = py + 0.5 - y0;
        const u = len2 > 0 ? Math.min(1, Math.max(0, (cx * dx + cy * dy) / len2)) : 0;
        const ex = cx - u * dx;
        const ey = cy - u * dy;
        const d2 = ex * ex + ey * ey;
        if (d2 >= reach2) continue;
        // Coverage in sixteenths: smooth enough to the eye, and far fewer distinct colours
        // (smaller PNGs) than 256 levels.
        const value = Math.round(Math.min(1, reach - Math.sqrt(d2)) * COVERAGE_LEVELS);
        const i = py * width + px;
        if (value <= mask[i]!) continue;
        mask[i] = value;
        if (px < dirty.left) dirty.left = px;
        if (px >= dirty.right) dirty.right = px + 1;
        if (py < dirty.top) dirty.top = py;
        if (py >= dirty.bottom) dirty.bottom = py + 1;
      }
    }
  }

  /** Blends `color` through the coverage mask, then clears the mask. */
  private composite(color: Rgb, alpha: number): void {
    const mask = this.mask;
    const d = this.dirty;
    if (!mask || d.left >= d.right) return;
    for (let y = d.top; y < d.bottom; y++) {
      for (let x = d.left, i = y * this.width + d.left; x < d.right; x++, i++) {
        const coverage = mask[i]!;
        if (!coverage) continue;
        mask[i] = 0;
        this.blend(x, y, color, (alpha * coverage) / COVERAGE_LEVELS);
      }
    }
    this.dirty = emptyRect();
  }
}

function emptyRect(): Rect {
  return { left: Infinity, top: Infinity, right: -Infinity, bottom: -Infinity };
}

/** Liang-Barsky: the part of a segment inside a rectangle, or undefined. */
export function clipSegment(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  left: number,
  top: number,
  right: number,
  bottom: number,
): [number, number, number, number] | undefined {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let t0 = 0;
  let t1 = 1;
  const edges: [number, number][] = [
    [-dx, x0 - left],
    [dx, right - x0],
    [-dy, y0 - top],
    [dy, bottom - y0],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return undefined;
      continue;
    }
    const r = q / p;
    if (p < 0) t0 = Math.max(t0, r);
    else t1 = Math.min(t1, r);
    if (t0 > t1) return undefined;
  }
  return [x0 + t0 * dx, y0 + t0 * dy, x0 + t1 * dx, y0 + t1 * dy];
}
