// A one-off look at the toolkit, so that "tunnel up, toolkit down" shows here, at start-up,
// rather than as HTTP 502 on the Worker's side later.

/** `server`: the original bridge answers /health; ai-toolkit's web UI answers /api/auth (200, or 401 without its token). */
export type ProbeResult =
  { readonly ok: true; readonly server: "bridge" | "ui" } | { readonly ok: false; readonly reason: string };

export function toolkitOrigin(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export async function probeToolkit(host: string, port: number, timeoutMs = 3_000): Promise<ProbeResult> {
  try {
    const health = await status(`${toolkitOrigin(host, port)}/health`, timeoutMs);
    if (health >= 200 && health < 300) return { ok: true, server: "bridge" };
    // The UI has no /health: its auth route answers whether or not a token is needed.
    const auth = health === 404 ? await status(`${toolkitOrigin(host, port)}/api/auth`, timeoutMs) : undefined;
    if (auth === 200 || auth === 401) return { ok: true, server: "ui" };
    return { ok: false, reason: `GET /health answered HTTP ${health}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name;
    if (name === "TimeoutError") return { ok: false, reason: `no answer within ${timeoutMs / 1000} s` };
    return { ok: false, reason: cause ?? (error as Error).message };
  }
}

async function status(url: string, timeoutMs: number): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await response.body?.cancel();
  return response.status;
}
