/**
 * Everything that can go wrong between the Worker and the LAN toolkit, each with a message
 * that says what happened and what to do next. Tools turn these into `isError` results in
 * exactly one place (src/mcp/result.ts).
 */
export const TOOLKIT_ERROR_KINDS = [
  /** The transport could not reach the toolkit at all (DNS, refused, tunnel down). */
  "unreachable",
  /** The toolkit did not answer within the configured timeout. */
  "timeout",
  /** The toolkit (or something in front of it) answered with an HTTP error status. */
  "http",
  /** The answer was not the toolkit's envelope: a login page, HTML, truncated JSON... */
  "protocol",
  /** The toolkit ran the tool and reported a failure (envelope or in-band). */
  "tool",
  /**
   * The request cannot work on this upstream, found before anything was sent (a setting the
   * bridge has no parameter for, a dataset outside the UI's datasets folder): nothing changed.
   */
  "invalid",
] as const;
export type ToolkitErrorKind = (typeof TOOLKIT_ERROR_KINDS)[number];

/**
 * Which hop between the Worker and the toolkit failed, as far as the answer tells:
 * nothing answered at all ("reach"), Cloudflare Access refused the service token ("access"),
 * Cloudflare has no connected cloudflared for the tunnel ("tunnel"), or the toolkit itself
 * (or whatever answers in its place) failed ("toolkit"). The diagnosis reads this.
 */
export type FailedHop = "reach" | "access" | "tunnel" | "toolkit";

export class ToolkitError extends Error {
  override name = "ToolkitError";
  constructor(
    readonly kind: ToolkitErrorKind,
    message: string,
    readonly status?: number,
    readonly hop: FailedHop = kind === "unreachable" || kind === "timeout" ? "reach" : "toolkit",
  ) {
    super(message);
  }
}

export const TUNNEL_GUIDE = "see tunnel/README.md";

/** Node's fetch hides the real reason (ECONNREFUSED, ENOTFOUND...) one level down. */
export function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return `${error.message}: ${typeof code === "string" ? `${code} ` : ""}${cause.message}`.trim();
  }
  return error.message;
}

/** What came back instead of JSON: its content type and first characters, for the message. */
export function describeBody(response: Response, text: string): string {
  const type = response.headers.get("content-type") ?? "no content type";
  return text.length === 0 ? `empty body, ${type}` : `${type}, starts with ${JSON.stringify(text.slice(0, 60))}`;
}

export function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** A streamed file whose bytes do not match its declared size: the body would be corrupt. */
export class UploadBodyError extends Error {
  override readonly name = "UploadBodyError";
}

/**
 * Cloudflare answers 530 (error 1033) when the tunnel has no connected cloudflared: whichever upstream is behind it.
 */
export function tunnelNotConnected(target: string, status: number, text: string): ToolkitError | undefined {
  if (status !== 530 && !/error code:?\s*1033/i.test(text)) return undefined;
  return new ToolkitError(
    "unreachable",
    `Cloudflare could not reach the tunnel for ${target} (HTTP ${status}, error 1033): cloudflared is not ` +
      `connected on the LAN box. Start it (cd tunnel && npm run tunnel), ${TUNNEL_GUIDE}`,
    status,
    "tunnel",
  );
}
