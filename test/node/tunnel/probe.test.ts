import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { probeToolkit, toolkitOrigin } from "../../../tunnel/launcher/probe.ts";
import { closedPort } from "./fake-cloudflared.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(status: number, routes: Record<string, number> = { "/health": status }): Promise<number> {
  server = createServer((request, response) => {
    response.writeHead(routes[request.url ?? ""] ?? 404, { "content-type": "application/json" });
    response.end('{"status":"healthy"}');
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

describe("probeToolkit", () => {
  it("is happy when /health answers 200", async () => {
    expect(await probeToolkit("127.0.0.1", await serve(200))).toEqual({ ok: true, server: "bridge" });
  });

  it("recognises ai-toolkit's web UI by /api/auth, with or without its token", async () => {
    expect(await probeToolkit("127.0.0.1", await serve(0, { "/api/auth": 401 }))).toEqual({ ok: true, server: "ui" });
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    expect(await probeToolkit("127.0.0.1", await serve(0, { "/api/auth": 200 }))).toEqual({ ok: true, server: "ui" });
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    expect(await probeToolkit("127.0.0.1", await serve(0, {}))).toEqual({
      ok: false,
      reason: "GET /health answered HTTP 404",
    });
  });

  it("reports an error status", async () => {
    expect(await probeToolkit("127.0.0.1", await serve(503))).toEqual({
      ok: false,
      reason: "GET /health answered HTTP 503",
    });
  });

  it("reports a refused connection", async () => {
    expect(await probeToolkit("127.0.0.1", await closedPort())).toEqual({ ok: false, reason: "ECONNREFUSED" });
  });

  it("brackets IPv6 hosts", () => {
    expect(toolkitOrigin("::1", 8012)).toBe("http://[::1]:8012");
    expect(toolkitOrigin("192.168.0.152", 8012)).toBe("http://192.168.0.152:8012");
  });
});
