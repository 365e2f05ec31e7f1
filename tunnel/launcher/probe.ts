// A one-off look at the toolkit, so that "tunnel up, toolkit down" shows here, at start-up,
// rather than as HTTP 502 on the Worker's side later.

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export function toolkitOrigin(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export async function probeToolkit(host: string, port: number, timeoutMs = 3_000): Promise<ProbeResult> {
  try {
    const response = await fetch(`${toolkitOrigin(host, port)}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok ? { ok: true } : { ok: false, reason: `GET /health answered HTTP ${response.status}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const name = (error as Error).name;
    if (name === "TimeoutError") return { ok: false, reason: `no answer within ${timeoutMs / 1000} s` };
    return { ok: false, reason: cause ?? (error as Error).message };
  }
}
