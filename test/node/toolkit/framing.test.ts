// How answers are framed on the wire: like the original's uvicorn JSONResponse, every answer
// (download_model's whole model included) is one body with a Content-Length, built in memory
// and written in one go; never chunked, never in pieces of the server's choosing.

import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { ServerResponse } from "node:http";
import { connect } from "node:net";
import path from "node:path";

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";

import { type Harness, removeSandbox, startHarness } from "./helpers.ts";

let h: Harness;
// 9 MiB + 2 bytes: three of the server's 3 MiB encoding chunks and a tail that needs padding.
const model = randomBytes(9 * 1024 * 1024 + 2);

beforeAll(async () => {
  h = await startHarness();
  await writeFile(path.join(h.dataDir, "outputs", "framed.safetensors"), model);
});

afterAll(async () => {
  await h.close();
  await removeSandbox(h.sandbox);
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface RawResponse {
  statusLine: string;
  headers: Map<string, string[]>;
  body: Buffer;
}

/** One request over a plain socket, so the headers and body are exactly what the server sent. */
function rawRequest(method: string, target: string, body = ""): Promise<RawResponse> {
  const url = new URL(h.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    const received: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("error", reject);
    socket.on("end", () => {
      const all = Buffer.concat(received);
      const split = all.indexOf("\r\n\r\n");
      const [statusLine = "", ...lines] = all.subarray(0, split).toString("latin1").split("\r\n");
      const headers = new Map<string, string[]>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      resolve({ statusLine, headers, body: all.subarray(split + 4) });
    });
    socket.write(
      `${method} ${target} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}

function expectOneContentLengthBody(response: RawResponse): void {
  expect(response.headers.has("transfer-encoding")).toBe(false);
  expect(response.headers.get("content-length")).toEqual([String(response.body.length)]);
}

describe("answer framing", () => {
  it("sends download_model as one Content-Length body, byte for byte the original's JSON", async () => {
    const response = await rawRequest(
      "POST",
      "/mcp/execute",
      JSON.stringify({ tool: "download_model", arguments: { model_name: "framed" } }),
    );
    expect(response.statusLine).toBe("HTTP/1.1 200 OK");
    expectOneContentLengthBody(response);
    // What FastAPI's JSONResponse of the original's dict is, and what this server sent before.
    const expected = Buffer.from(
      JSON.stringify({
        success: true,
        result: { status: "success", model: "framed", data: model.toString("base64"), size: model.length },
        error: null,
      }),
    );
    expect(response.body.length).toBe(expected.length);
    expect(response.body.equals(expected)).toBe(true);
  });

  it("frames every other answer the same way: results, in-band errors, 404, 405, 422", async () => {
    const answers = await Promise.all([
      rawRequest("POST", "/mcp/execute", JSON.stringify({ tool: "list_exported_models", arguments: {} })),
      rawRequest(
        "POST",
        "/mcp/execute",
        JSON.stringify({ tool: "download_model", arguments: { model_name: "missing" } }),
      ),
      rawRequest("GET", "/health"),
      rawRequest("GET", "/mcp/tools"),
      rawRequest("GET", "/nowhere"),
      rawRequest("GET", "/mcp/execute"),
      rawRequest("POST", "/mcp/execute", "{not json"),
    ]);
    expect(answers.map((a) => a.statusLine.split(" ")[1])).toEqual(["200", "200", "200", "200", "404", "405", "422"]);
    for (const answer of answers) {
      expectOneContentLengthBody(answer);
      expect(() => JSON.parse(answer.body.toString("utf8"))).not.toThrow();
    }
  });

  it("writes the whole body with a single write, after building it", async () => {
    const write = vi.spyOn(ServerResponse.prototype, "write");
    const end = vi.spyOn(ServerResponse.prototype, "end");
    const response = await fetch(`${h.server.url}/mcp/execute`, {
      method: "POST",
      body: JSON.stringify({ tool: "download_model", arguments: { model_name: "framed" } }),
    });
    const text = await response.text();
    expect(response.headers.get("transfer-encoding")).toBeNull();
    expect(response.headers.get("content-length")).toBe(String(text.length));
    expect(write).not.toHaveBeenCalled();
    expect(end).toHaveBeenCalledTimes(1);
    const [sent] = end.mock.calls[0] as unknown[];
    expect(Buffer.isBuffer(sent) && sent.length).toBe(text.length);
  });
});
