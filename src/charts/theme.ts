import type { Rgb } from "./raster";

/**
 * Chart colours. Each chart paints its own opaque background, so it reads the same on a
 * light or a dark host page; "light" is the default, "dark" suits dark status panels.
 * Series colours are distinct from each other and from the text, and stay readable both as
 * the strong smoothed line and as the faint raw trace behind it.
 */
export interface Theme {
  background: Rgb;
  /** The part of the x axis still to train (between the current step and the total). */
  remaining: Rgb;
  grid: Rgb;
  axis: Rgb;
  text: Rgb;
  title: Rgb;
  marker: Rgb;
  series: readonly Rgb[];
  /** Opacity of the raw (unsmoothed) trace. */
  rawAlpha: number;
}

export type ThemeName = "light" | "dark";

export const THEMES: Record<ThemeName, Theme> = {
  light: {
    background: 0xffffff,
    remaining: 0xf3f4f7,
    grid: 0xe6e7ec,
    axis: 0x9a9cab,
    text: 0x50525e,
    title: 0x1c1d24,
    marker: 0x5c5e6b,
    series: [0x2563eb, 0xe8590c, 0x15935a, 0xc2255c, 0x7048e8, 0x0c8599, 0xb7791f, 0x5c677d],
    rawAlpha: 0.22,
  },
  dark: {
    background: 0x18191e,
    remaining: 0x202228,
    grid: 0x2c2e36,
    axis: 0x5e6170,
    text: 0xa9acba,
    title: 0xe8e9ee,
    marker: 0x9ea1b0,
    series: [0x5c9dff, 0xff8c42, 0x3ecf8e, 0xf06595, 0xa48bff, 0x22c3d6, 0xf2c94c, 0x9aa7bd],
    rawAlpha: 0.17,
  },
};

export function themeFor(name: ThemeName | undefined): Theme {
  return THEMES[name ?? "light"] ?? THEMES.light;
}

/** The colour of the i-th series, cycling through the palette. */
export function seriesColor(theme: Theme, index: number): Rgb {
  return theme.series[index % theme.series.length]!;
}
