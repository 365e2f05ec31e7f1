/**
 * Anti-framing for every HTML page the Worker serves (the sign-in page, its messages, the
 * upload page, and any page added later): no other site may put them in a frame and trick
 * the owner into clicking Approve or dropping files. Applied once, to every response leaving
 * the Worker (src/index.ts), so no route can forget it.
 *
 * `X-Frame-Options: DENY` for older browsers, CSP `frame-ancestors 'none'` for the rest. A
 * page that brings its own CSP keeps it, with `frame-ancestors 'none'` in place of whatever
 * framing rule it had.
 */
export function withFrameGuard(response: Response): Response {
  const type = response.headers.get("Content-Type") ?? "";
  if (!/\bhtml\b/i.test(type) || response.status === 101) return response;
  const guarded = new Response(response.body, response);
  guarded.headers.set("X-Frame-Options", "DENY");
  guarded.headers.set(
    "Content-Security-Policy",
    withFrameAncestorsNone(guarded.headers.get("Content-Security-Policy")),
  );
  return guarded;
}

function withFrameAncestorsNone(policy: string | null): string {
  const directives = (policy ?? "")
    .split(";")
    .map((directive) => directive.trim())
    .filter((directive) => directive && !/^frame-ancestors(\s|$)/i.test(directive));
  return [...directives, "frame-ancestors 'none'"].join("; ");
}
