import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { Config } from "../../../src/config";
import { hashToken, newToken } from "../../../src/uploads/create";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { callTool } from "../helpers/mcp";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";
import { image } from "./support";

/**
 * upload_dataset, create_dataset_upload and get_dataset_upload through the real MCP handler.
 *
 * upload_dataset forwards through a private upload session whose token is drawn inside the
 * tool call, so the test cannot reach that session's Durable Object afterwards. The seam:
 * the random bytes of the next token are handed out by the test itself, then the test opens
 * the session's object first (named by the token's hash) and swaps in its own toolkit;
 * the tool's create() then lands on that same instance.
 */

type UploadBody = {
  tool: string;
  arguments: { dataset_name: string; images: Array<{ filename: string; caption: string; data: string }> };
};

/** A toolkit that reads each streamed upload_dataset body and answers from a script. */
class ForwardRecorder implements ToolkitTransport {
  readonly kind = "direct" as const;
  readonly target = "http://127.0.0.1:9";
  readonly uploads: UploadBody["arguments"][] = [];
  /** What upload_dataset answers: the toolkit's envelope. */
  uploadAnswer: (body: UploadBody) => unknown = (body) => ({
    success: true,
    result: {
      status: "success",
      dataset: body.arguments.dataset_name,
      images_saved: body.arguments.images.length,
      path: `/ai-toolkit/datasets/${body.arguments.dataset_name}`,
    },
    error: null,
  });
  private saved = 0;

  async fetch(_path: string, init: RequestInit = {}): Promise<Response> {
    const body = JSON.parse(await new Response(init.body).text()) as UploadBody;
    if (body.tool === "list_datasets")
      return Response.json({
        success: true,
        result: { datasets: [{ name: "inline_set", images: this.saved }] },
        error: null,
      });
    this.uploads.push(body.arguments);
    const answer = this.uploadAnswer(body);
    if ((answer as { success?: boolean }).success) this.saved += body.arguments.images.length;
    return Response.json(answer);
  }
}

/** Makes the next 16 random bytes drawn (newToken's) those of `token`; other draws stay random. */
function handOutNextToken(token: string): void {
  const bytes = Uint8Array.from(token.match(/../g) ?? [], (hex) => parseInt(hex, 16));
  const random = crypto.getRandomValues.bind(crypto);
  const spy = vi.spyOn(crypto, "getRandomValues");
  spy.mockImplementation(<T extends Parameters<typeof random>[0]>(array: T): T => {
    if (!(array instanceof Uint8Array) || array.byteLength !== bytes.byteLength) return random(array);
    spy.mockRestore();
    array.set(bytes);
    return array;
  });
}

/** Hands out the next session token and puts `transport` (and any settings) in that session's object. */
async function nextSessionUses(transport: ToolkitTransport, settings: Partial<Config> = {}): Promise<string> {
  const token = newToken();
  handOutNextToken(token);
  const tokenHash = await hashToken(token);
  await runInDurableObject(sessionStub(env, tokenHash), (instance: UploadSession) => {
    instance.config = { ...instance.config, ...settings };
    instance.upstream = new BridgeUpstream(new ToolkitClient(transport, instance.config.TOOLKIT_TIMEOUT_MS));
  });
  return tokenHash;
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function decode(data: string): Uint8Array {
  const binary = atob(data);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

describe("upload_dataset (inline) through its private upload session", () => {
  it("forwards every image with its caption, byte-exact, and says where they went", async () => {
    const transport = new ForwardRecorder();
    const tokenHash = await nextSessionUses(transport);
    const sent = [
      { filename: "cat_01.png", bytes: image("png", 10_000, 1), caption: "sks cat on a sofa" },
      { filename: "cat_02.jpg", bytes: image("jpeg", 7_001, 2), caption: 'a "quoted" caption, with comma' },
      { filename: "cat_03.webp", bytes: image("webp", 2_002, 3), caption: "" },
    ];
    const result = await callTool(new ScriptedToolkit(), "upload_dataset", {
      dataset_name: "inline_set",
      images: sent.map((s) => ({ filename: s.filename, data: base64(s.bytes), caption: s.caption })),
    });
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    expect(result.structuredContent).toEqual({
      status: "success",
      dataset: "inline_set",
      images_saved: 3,
      images_sent: 3,
      path: "/ai-toolkit/datasets/inline_set",
      batches: 1,
    });
    expect(result.content[0]?.text).toBe("Saved 3 images to /ai-toolkit/datasets/inline_set.");

    const arrived = transport.uploads.flatMap((u) => u.images);
    expect(transport.uploads.every((u) => u.dataset_name === "inline_set")).toBe(true);
    expect(arrived.map((i) => i.filename)).toEqual(sent.map((s) => s.filename));
    expect(arrived.map((i) => i.caption)).toEqual(sent.map((s) => s.caption));
    arrived.forEach((got, i) => expect(decode(got.data)).toEqual(sent[i]!.bytes));

    // The private session is gone once the call is over, and so is what it staged.
    const manifest = await sessionStub(env, tokenHash).manifest();
    expect(manifest.ok).toBe(false);
    const staged = await env.STAGING.list({ prefix: `uploads/${tokenHash.slice(0, 32)}/` });
    expect(staged.objects).toEqual([]);
  });

  it("a toolkit that reports an error while saving makes the call fail with that message", async () => {
    const transport = new ForwardRecorder();
    transport.uploadAnswer = () => ({ success: true, result: { error: "No space left on device" }, error: null });
    const tokenHash = await nextSessionUses(transport);
    const result = await callTool(new ScriptedToolkit(), "upload_dataset", {
      dataset_name: "inline_set",
      images: [{ filename: "one.png", data: base64(image("png", 3000)), caption: "x" }],
    });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/No space left on device/);
    // Its private session is already gone: the way to retry is this tool, not finalize.
    expect(result.content[0]?.text).toMatch(/call upload_dataset again/);
    expect(result.content[0]?.text).not.toMatch(/finalize/);
    expect(result.structuredContent).toMatchObject({ kind: "tool" });
    expect(transport.uploads).toHaveLength(1);
    expect((await sessionStub(env, tokenHash).manifest()).ok).toBe(false);
  });

  it("a toolkit that answers success:false makes the call fail with its reason", async () => {
    const transport = new ForwardRecorder();
    transport.uploadAnswer = () => ({ success: false, result: null, error: "No space left on device" });
    await nextSessionUses(transport);
    const result = await callTool(new ScriptedToolkit(), "upload_dataset", {
      dataset_name: "inline_set",
      images: [{ filename: "one.png", data: base64(image("png", 3000)), caption: "x" }],
    });
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(
      /could not run upload_dataset: No space left on device.*call upload_dataset again/,
    );
  });

  it(
    "a toolkit that never answers fails the call within the time-out derived from TOOLKIT_TIMEOUT_MS, naming " +
      "the hop",
    async () => {
      const seen: string[] = [];
      // A toolkit that takes the request and never answers: only the request's signal ends the wait, as with fetch.
      const silent: ToolkitTransport = {
        kind: "direct",
        target: "http://127.0.0.1:9",
        fetch: (path, init = {}) => {
          seen.push(path);
          return new Promise<Response>((_resolve, reject) =>
            init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
          );
        },
      };
      const tokenHash = await nextSessionUses(silent, { TOOLKIT_TIMEOUT_MS: 500 });
      const started = Date.now();
      const result = await callTool(new ScriptedToolkit(), "upload_dataset", {
        dataset_name: "inline_set",
        images: [{ filename: "one.png", data: base64(image("png", 3000)), caption: "x" }],
      });
      // TOOLKIT_TIMEOUT_MS plus a second for a body of a few kB (batchTimeoutMs), not 15 minutes.
      expect(Date.now() - started).toBeLessThan(8000);
      expect(result.isError).toBe(true);
      expect(result.structuredContent).toMatchObject({ kind: "timeout" });
      expect(result.content[0]?.text).toBe(
        "The toolkit at http://127.0.0.1:9 did not answer upload_dataset within 1.5 s: is the tunnel running " +
          "and the toolkit up? see tunnel/README.md (call upload_dataset again to retry: every image is sent " +
          "again)",
      );
      expect(seen).toEqual(["/mcp/execute"]);
      expect((await sessionStub(env, tokenHash).manifest()).ok).toBe(false);
    },
    15_000,
  );
});

describe("create_dataset_upload and get_dataset_upload", () => {
  it(
    "returns an upload URL, a page, a curl example and " + "the expiry; get_dataset_upload reports the manifest",
    async () => {
      const before = Date.now();
      const created = await callTool(new ScriptedToolkit(), "create_dataset_upload", {
        dataset_name: "cats",
        default_caption: "a photo",
        trigger_word: "sks",
      });
      expect(created.isError, created.content[0]?.text).toBeFalsy();
      const s = created.structuredContent as {
        upload_url: string;
        page_url: string;
        expires_at: string;
        curl_example: string;
        limits: Record<string, number>;
      };
      expect(s.upload_url).toMatch(/\/uploads\/[0-9a-f]{32}$/);
      expect(s.page_url).toBe(`${s.upload_url}/page`);
      expect((created.structuredContent as { tus_url: string }).tus_url).toBe(`${s.upload_url}/tus/`);
      expect(s.curl_example).toContain(`curl -T cat_01.png ${s.upload_url}/files/cat_01.png`);
      expect(s.curl_example).toContain(`curl -X POST ${s.upload_url}/finalize`);
      const expires = Date.parse(s.expires_at);
      expect(expires).toBeGreaterThanOrEqual(before + 24 * 3600_000 - 1000);
      expect(expires).toBeLessThanOrEqual(Date.now() + 24 * 3600_000 + 1000);
      const text = created.content[0]?.text ?? "";
      for (const piece of [s.upload_url, s.page_url, s.expires_at, "curl -T"]) expect(text).toContain(piece);

      // Something to report, through the upload URL: an image, its caption, a refused file.
      const url = new URL(s.upload_url, "https://example.com").toString();
      expect((await SELF.fetch(`${url}/files/a.png`, { method: "PUT", body: image("png", 1234) })).status).toBe(201);
      expect((await SELF.fetch(`${url}/files/a.txt`, { method: "PUT", body: "on the beach" })).status).toBe(201);
      expect((await SELF.fetch(`${url}/files/notes.exe`, { method: "PUT", body: "MZ" })).status).toBe(415);

      const got = await callTool(new ScriptedToolkit(), "get_dataset_upload", { upload_url: url });
      expect(got.isError, got.content[0]?.text).toBeFalsy();
      expect(got.structuredContent).toMatchObject({
        dataset_name: "cats",
        state: "open",
        expires_at: s.expires_at,
        totals: { images: 1, staged_bytes: 1234 },
        files: [expect.objectContaining({ name: "a.png", size: 1234, caption: "sks, on the beach" })],
        rejected: [expect.objectContaining({ name: "notes.exe" })],
      });
      expect(got.content[0]?.text).toMatch(/^Dataset cats: open; 1 image staged/);
      expect(got.content[0]?.text).toMatch(/Refused: notes\.exe/);
      // The bare token works as well as the whole URL.
      expect(
        (await callTool(new ScriptedToolkit(), "get_dataset_upload", { upload_url: s.upload_url.slice(-32) }))
          .structuredContent,
      ).toMatchObject({ dataset_name: "cats" });
    },
  );

  it("get_dataset_upload says clearly when the URL is malformed or unknown", async () => {
    const malformed = await callTool(new ScriptedToolkit(), "get_dataset_upload", {
      upload_url: "https://example.com/uploads/not-a-token",
    });
    expect(malformed.isError).toBe(true);
    expect(malformed.content[0]?.text).toMatch(/not an upload URL from create_dataset_upload/);
    expect(malformed.structuredContent).toMatchObject({ kind: "invalid" });

    const unknown = await callTool(new ScriptedToolkit(), "get_dataset_upload", {
      upload_url: `https://example.com/uploads/${"ab".repeat(16)}`,
    });
    expect(unknown.isError).toBe(true);
    expect(unknown.content[0]?.text).toMatch(/no upload session at this URL.*create_dataset_upload/);

    const empty = await callTool(new ScriptedToolkit(), "get_dataset_upload", { upload_url: "" });
    expect(empty.isError).toBe(true);
    expect(empty.content[0]?.text).toMatch(/upload_url must not be empty/);
  });

  it("a deleted session is unknown to get_dataset_upload", async () => {
    const created = await callTool(new ScriptedToolkit(), "create_dataset_upload", { dataset_name: "gone" });
    const url = String(created.structuredContent?.upload_url);
    const tokenHash = await hashToken(url.slice(-32));
    expect((await sessionStub(env, tokenHash).abandon()).ok).toBe(true);
    const got = await callTool(new ScriptedToolkit(), "get_dataset_upload", { upload_url: url });
    expect(got.isError).toBe(true);
    expect(got.content[0]?.text).toMatch(/no upload session at this URL/);
  });
});
