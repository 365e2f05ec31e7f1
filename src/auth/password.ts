/**
 * Compares the submitted password with OWNER_PASSWORD in constant time. Both are hashed
 * first so the comparison always runs over 32 bytes, whatever their lengths: neither the
 * position of the first wrong character nor the password's length leaks through timing.
 */
export async function passwordMatches(submitted: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(submitted)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
