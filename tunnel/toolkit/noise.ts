/**
 * Deterministic noise in [-0.5, 0.5) from a seed text (xorshift32 seeded by an FNV-style hash), so
 * two runs of the same job print the same loss curve. Shared by both local stand-ins' trainers.
 */
export function noiseSource(seedText: string): () => number {
  let state = 0x9e3779b9;
  for (const ch of seedText) state = Math.imul(state ^ ch.charCodeAt(0), 0x01000193) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0xffffffff - 0.5;
  };
}
