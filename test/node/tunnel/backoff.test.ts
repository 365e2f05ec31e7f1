import { describe, expect, it } from "vitest";
import { Backoff, DEFAULT_BACKOFF } from "../../../tunnel/launcher/backoff.ts";

describe("Backoff", () => {
  it("starts at 1 s, doubles, stops at 60 s by default", () => {
    const backoff = new Backoff();
    const delays = Array.from({ length: 9 }, () => backoff.next(0));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
    expect(DEFAULT_BACKOFF.maxMs).toBe(60_000);
  });

  it("starts over once a child stayed up for resetAfterMs", () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, resetAfterMs: 5_000 });
    expect([backoff.next(10), backoff.next(10), backoff.next(10)]).toEqual([100, 200, 400]);
    expect(backoff.next(4_999)).toBe(800);
    expect(backoff.next(5_000)).toBe(100);
    expect(backoff.next(10)).toBe(200);
  });

  it("refuses timings that make no sense", () => {
    expect(() => new Backoff({ initialMs: 0, maxMs: 10, resetAfterMs: 0 })).toThrow(RangeError);
    expect(() => new Backoff({ initialMs: 10, maxMs: 5, resetAfterMs: 0 })).toThrow(RangeError);
  });
});
