/**
 * The OAuth dance an MCP client and its user perform, done the way a browser would:
 * dynamic registration, PKCE S256, the /authorize page (cookies kept, form filled and
 * submitted), then the code swapped for a resource-bound token. Web-standard only, so the
 * same flow runs in Node (end-to-end) and inside workerd (against SELF).
 */
export type Fetcher = (input: string, init?: RequestInit) => Promise<Response>;
export interface RegisteredClient {
  clientId: string;
  redirectUri: string;
}

export interface AuthorizeAttempt {
  /** The consent page's response to the form submission. */
  response: Response;
  /** Set when the Worker redirected back with a code or an error. */
  location?: URL | undefined;
  verifier: string;
}

export async function registerClient(
  workerUrl: string,
  name = "e2e client",
  fetch: Fetcher = globalThis.fetch,
  headers: Record<string, string> = {},
): Promise<RegisteredClient> {
  const redirectUri = "http://127.0.0.1:9/callback";
  const response = await fetch(`${workerUrl}/register`, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/json" },
    body: JSON.stringify({
      client_name: name,
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }),
  });
  if (response.status !== 201) throw new Error(`registration failed: ${response.status} ${await response.text()}`);
  const body = (await response.json()) as { client_id: string };
  return { clientId: body.client_id, redirectUri };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const challenge = base64url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  return { verifier, challenge };
}

export function authorizeUrl(workerUrl: string, client: RegisteredClient, challenge: string): string {
  const params = new URLSearchParams({
    response_type: "code",
    client_id: client.clientId,
    redirect_uri: client.redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "e2e-state",
    scope: "toolkit",
    resource: `${workerUrl}/mcp`,
  });
  return `${workerUrl}/authorize?${params}`;
}

/** Opens the consent page, fills the password, presses the button. */
export async function submitConsent(
  workerUrl: string,
  client: RegisteredClient,
  password: string,
  decision: "approve" | "deny" = "approve",
  headers: Record<string, string> = {},
  fetch: Fetcher = globalThis.fetch,
): Promise<AuthorizeAttempt> {
  const { verifier, challenge } = await pkce();
  const url = authorizeUrl(workerUrl, client, challenge);
  const page = await fetch(url, { headers, redirect: "manual" });
  if (page.status !== 200) throw new Error(`consent page answered ${page.status}: ${await page.text()}`);
  const html = await page.text();
  const handle = /name="handle" value="([^"]+)"/.exec(html)?.[1];
  if (!handle) throw new Error("the consent page has no handle field");
  // getSetCookie exists in Node and workerd alike; the workers types just do not declare it.
  const setCookies = (page.headers as Headers & { getSetCookie(): string[] }).getSetCookie();
  const cookies = setCookies.map((cookie) => cookie.split(";")[0]).join("; ");
  const response = await fetch(url, {
    method: "POST",
    headers: { ...headers, "Content-Type": "application/x-www-form-urlencoded", Cookie: cookies },
    body: new URLSearchParams({ handle, password, decision }).toString(),
    redirect: "manual",
  });
  const location = response.headers.get("location");
  return { response, location: location ? new URL(location) : undefined, verifier };
}

export async function exchangeCode(
  workerUrl: string,
  client: RegisteredClient,
  code: string,
  verifier: string,
  fetch: Fetcher = globalThis.fetch,
): Promise<{ access_token: string; refresh_token?: string; token_type: string }> {
  const response = await fetch(`${workerUrl}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: client.redirectUri,
      client_id: client.clientId,
      code_verifier: verifier,
      resource: `${workerUrl}/mcp`,
    }).toString(),
  });
  if (!response.ok) throw new Error(`token exchange failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { access_token: string; refresh_token?: string; token_type: string };
}

/** The whole flow: a fresh client, the owner approves, a token comes back. */
export async function obtainAccessToken(
  workerUrl: string,
  password: string,
  fetch: Fetcher = globalThis.fetch,
  headers: Record<string, string> = {},
): Promise<string> {
  const client = await registerClient(workerUrl, "e2e client", fetch, headers);
  const attempt = await submitConsent(workerUrl, client, password, "approve", headers, fetch);
  const code = attempt.location?.searchParams.get("code");
  if (!code) throw new Error(`approval did not redirect with a code (status ${attempt.response.status})`);
  const tokens = await exchangeCode(workerUrl, client, code, attempt.verifier, fetch);
  return tokens.access_token;
}
