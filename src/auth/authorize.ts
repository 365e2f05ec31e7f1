import { AuthorizationError, CimdFetchError, type OAuthHelpers } from "@cloudflare/workers-oauth-provider";
import { Hono } from "hono";
import { readConfig } from "../config";
import { escapeHtml } from "../common";
import { attemptsFor, MAX_FAILURES, SIGN_IN, WINDOW_MS } from "./attempts";
import { consentPage, messagePage, NO_PASSWORD_MESSAGE } from "./page";

/** The only scope: whoever the owner approves may use every tool. */
export const TOOLKIT_SCOPE = "toolkit";

const WINDOW_MINUTES = WINDOW_MS / 60_000;

type AuthEnv = { Bindings: Env & { OAUTH_PROVIDER: OAuthHelpers } };

/**
 * GET /authorize shows who asks and one password field; POST /authorize checks the owner
 * password and approves or denies. The authorization request itself stays server-side
 * (the form carries only the one-time consent handle), and the form posts back to the same
 * URL, so a wrong password can re-render the page from the original request.
 */
export const authorizeRoutes = new Hono<AuthEnv>();

authorizeRoutes.get("/authorize", async (c) => {
  const password = readConfig(c.env).OWNER_PASSWORD;
  if (!password) return html(messagePage("Sign-in is not set up", NO_PASSWORD_MESSAGE), 503);
  return withAuthErrors(async () => {
    const oauth = c.env.OAUTH_PROVIDER;
    const request = await oauth.parseAuthRequest(c.req.raw);
    const details = await oauth.describeConsent(request);
    const consent = await oauth.beginConsent(request);
    return html(consentPage({ details, handle: consent.handle }), 200, consent.headers);
  });
});

authorizeRoutes.post("/authorize", async (c) => {
  const password = readConfig(c.env).OWNER_PASSWORD;
  if (!password) return html(messagePage("Sign-in is not set up", NO_PASSWORD_MESSAGE), 503);
  return withAuthErrors(async () => {
    const oauth = c.env.OAUTH_PROVIDER;
    const form = await c.req.raw.formData();
    const handle = String(form.get("handle") ?? "");
    if (form.get("decision") !== "approve") {
      const denied = await oauth.denyConsent(c.req.raw, handle);
      return new Response(null, { status: 302, headers: denied.headers });
    }

    const limiter = attemptsFor(c.env, SIGN_IN, c.req.raw);
    const attempt = await limiter.reserve();
    if (!attempt.allowed) return tooManyAttempts(attempt.retryAfterSeconds);

    if (!(await passwordMatches(String(form.get("password") ?? ""), password))) {
      if (attempt.count >= MAX_FAILURES) return tooManyAttempts(attempt.retryAfterSeconds);
      // The handle is still unused: show the same request again with the error.
      const request = await oauth.parseAuthRequest(c.req.raw);
      const details = await oauth.describeConsent(request);
      const left = MAX_FAILURES - attempt.count;
      const error =
        `Wrong password. ${left} ${left === 1 ? "try" : "tries"} left before sign-in is locked for ` +
        `${WINDOW_MINUTES} minutes.`;
      return html(consentPage({ details, handle, error }), 401);
    }

    await limiter.clear();
    const approved = await oauth.approveConsent(c.req.raw, handle, { scope: [TOOLKIT_SCOPE] });
    const { redirectTo } = await oauth.completeAuthorization({
      request: approved.request,
      userId: "owner",
      metadata: { approvedAt: new Date().toISOString() },
      scope: [TOOLKIT_SCOPE],
      props: { userId: "owner" },
    });
    approved.headers.set("Location", redirectTo);
    return new Response(null, { status: 302, headers: approved.headers });
  });
});

function tooManyAttempts(retryAfterSeconds: number): Response {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  return html(
    messagePage(
      "Too many wrong passwords",
      `Sign-in from this address is locked after ${MAX_FAILURES} wrong passwords in ${WINDOW_MINUTES} ` +
        `minutes. Try again in about ${minutes} minute${minutes === 1 ? "" : "s"}.`,
    ),
    429,
    new Headers({ "Retry-After": String(retryAfterSeconds) }),
  );
}

function html(body: string, status: number, headers = new Headers()): Response {
  headers.set("Content-Type", "text/html; charset=utf-8");
  headers.set("Cache-Control", "no-store");
  // Anti-framing (X-Frame-Options, frame-ancestors) is added to every HTML page in one place: auth/frame-guard.ts.
  headers.set(
    "Content-Security-Policy",
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:",
  );
  return new Response(body, { status, headers });
}

/**
 * Errors the OAuth library raises for a bad request: redirect back to the client only when
 * the library says its redirect URI was verified; otherwise render them here.
 */
async function withAuthErrors(handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    if (error instanceof AuthorizationError && error.redirectTo) return Response.redirect(error.redirectTo, 302);
    if (error instanceof AuthorizationError) {
      return html(
        messagePage(
          "This sign-in link cannot be used",
          `${escapeHtml(error.description)}. Start connecting again from your MCP client.`,
        ),
        400,
      );
    }
    if (error instanceof CimdFetchError) {
      return html(
        messagePage(
          "This app could not be verified",
          "Its client metadata document could not be fetched or is invalid.",
        ),
        400,
      );
    }
    throw error;
  }
}

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
