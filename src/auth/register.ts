import { attemptsFor, REGISTRATION, WINDOW_MS } from "./attempts";

/**
 * Limits on dynamic client registration (POST /register, RFC 7591), checked before the OAuth
 * library sees the request. Registration needs no credential, and everything a client
 * registers is kept in KV and shown on the owner's sign-in page, so nobody may register
 * faster than a person connecting clients would, or store more than a client needs.
 */
export const REGISTRATION_LIMITS = {
  /** Largest request body, in bytes (a real registration is a few hundred). */
  bodyBytes: 16 * 1024,
  /** Longest client_name (and client_name#<language>), in characters: it is shown on the sign-in page. */
  nameChars: 200,
  /** Most redirect URIs. */
  redirectUris: 10,
  /** Longest redirect URI, logo_uri, client_uri, policy_uri, tos_uri, jwks_uri, and any other string. */
  stringChars: 2048,
  /** Most entries in any list (contacts, grant_types, response_types, ...). */
  listItems: 10,
  /** Most top-level metadata fields. */
  fields: 40,
} as const;

const WINDOW_MINUTES = WINDOW_MS / 60_000;

/**
 * Counts the registration against the caller's address and checks its size and shape.
 * Returns the request to hand on to the OAuth library (its body re-attached, byte for byte),
 * or the error response to send instead.
 */
export async function screenRegistration(request: Request, env: Env): Promise<Request | Response> {
  const attempt = await attemptsFor(env, REGISTRATION, request).reserve();
  if (!attempt.allowed) {
    return oauthError(
      request,
      429,
      "temporarily_unavailable",
      `Too many client registrations from this address: at most ${REGISTRATION.max} in ${WINDOW_MINUTES} ` +
        `minutes. Retry after ${attempt.retryAfterSeconds} seconds.`,
      { "Retry-After": String(attempt.retryAfterSeconds) },
    );
  }

  const body = await readLimited(request, REGISTRATION_LIMITS.bodyBytes);
  if (!body) {
    return oauthError(
      request,
      413,
      "invalid_request",
      `The registration request is larger than ${REGISTRATION_LIMITS.bodyBytes} bytes.`,
    );
  }
  let metadata: unknown;
  try {
    metadata = JSON.parse(new TextDecoder().decode(body));
  } catch {
    metadata = undefined; // not JSON: the library answers that in its own words
  }
  const problem =
    metadata && typeof metadata === "object" && !Array.isArray(metadata)
      ? oversized(metadata as Record<string, unknown>)
      : undefined;
  if (problem) return oauthError(request, 400, problem.code, problem.description);
  return new Request(request, { body });
}

interface Problem {
  code: "invalid_client_metadata" | "invalid_redirect_uri";
  description: string;
}

function oversized(metadata: Record<string, unknown>): Problem | undefined {
  const L = REGISTRATION_LIMITS;
  const fields = Object.entries(metadata);
  if (fields.length > L.fields)
    return { code: "invalid_client_metadata", description: `At most ${L.fields} metadata fields.` };
  const redirects = metadata.redirect_uris;
  if (Array.isArray(redirects)) {
    if (redirects.length > L.redirectUris)
      return { code: "invalid_redirect_uri", description: `At most ${L.redirectUris} redirect_uris.` };
    if (redirects.some((uri) => typeof uri === "string" && uri.length > L.stringChars)) {
      return {
        code: "invalid_redirect_uri",
        description: `A redirect URI may be at most ${L.stringChars} characters.`,
      };
    }
  }
  for (const [name, value] of fields) {
    if (name.length > 100)
      return { code: "invalid_client_metadata", description: "A metadata field name may be at most 100 characters." };
    const isName = name === "client_name" || name.startsWith("client_name#");
    const limit = isName ? L.nameChars : L.stringChars;
    if (typeof value === "string" && value.length > limit) {
      return {
        code: "invalid_client_metadata",
        description: `${isName ? "client_name" : name} may be at most ${limit} characters.`,
      };
    }
    if (Array.isArray(value)) {
      if (value.length > L.listItems && name !== "redirect_uris")
        return { code: "invalid_client_metadata", description: `${name} may list at most ${L.listItems} entries.` };
      if (value.some((item) => typeof item === "string" && item.length > L.stringChars)) {
        return {
          code: "invalid_client_metadata",
          description: `An entry of ${name} may be at most ${L.stringChars} characters.`,
        };
      }
    }
  }
  return undefined;
}

/** The body, or undefined when it is (or says it is) larger than `limit` bytes. */
async function readLimited(request: Request, limit: number): Promise<Uint8Array | undefined> {
  if (Number(request.headers.get("Content-Length") ?? 0) > limit) {
    await request.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/**
 * An OAuth error ({error, error_description}, RFC 6749 §5.2 / RFC 7591 §3.2.2), with the CORS
 * headers the library gives its own /register answers, so a browser-based client can read it
 * (Retry-After included).
 */
function oauthError(
  request: Request,
  status: number,
  error: string,
  description: string,
  extra: Record<string, string> = {},
): Response {
  const headers = new Headers({
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    Pragma: "no-cache",
    ...extra,
  });
  const origin = request.headers.get("Origin");
  if (origin) {
    headers.set("Access-Control-Allow-Origin", origin);
    headers.set("Access-Control-Allow-Methods", "*");
    headers.set("Access-Control-Allow-Headers", "Authorization, *");
    headers.set("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After");
    headers.set("Vary", "Origin");
  }
  return new Response(JSON.stringify({ error, error_description: description }), { status, headers });
}
