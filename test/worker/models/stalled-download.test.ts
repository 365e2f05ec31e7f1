import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { stageModel } from "../../../src/models/stage";
import { R2_MIN_PART_BYTES } from "../../../src/r2/multipart";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { ToolkitError } from "../../../src/toolkit/errors";
import { ScriptedToolkit } from "../helpers/scripted-toolkit";
import { base64, bytesOf, keysUnder, uniqueName } from "./support";

/**
 * A toolkit whose download_model answer sends its headers and part of its body, then
 * nothing: the download fails as a toolkit time-out (kind, hop, what to check), never as the
 * runtime's bare abort, and nothing half-written stays in R2.
 */
class StallingDownload extends ScriptedToolkit {
  constructor(
    name: string,
    size: number,
    /** The answer's bytes sent before it stalls. */
    private readonly head: Uint8Array,
  ) {
    super();
    this.on("list_exported_models", {
      result: { models: [{ name, path: `/ai-toolkit/outputs/${name}.safetensors`, size }] },
    });
  }

  override async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const tool = (JSON.parse(String(init.body)) as { tool: string }).tool;
    if (tool !== "download_model") return super.fetch(path, init);
    const head = this.head;
    const signal = init.signal ?? undefined;
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        // What workerd's fetch does when the request's signal fires with the body unread.
        signal?.addEventListener("abort", () => controller.error(signal.reason));
      },
      pull(controller) {
        if (at >= head.length) return new Promise<void>(() => {});
        controller.enqueue(head.slice(at, at + 65_536));
        at += 65_536;
      },
    });
    return new Response(body, { headers: { "Content-Type": "application/json" } });
  }
}

async function failureOf(promise: Promise<unknown>): Promise<ToolkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolkitError);
  return error as ToolkitError;
}

/**
 * The first bytes of a download_model answer for a model of two R2 parts: past the first part, so a multipart upload is
 * under way when it stalls.
 */
function answerHead(name: string): { size: number; head: Uint8Array } {
  const file = bytesOf(R2_MIN_PART_BYTES + 30_000, 5);
  const text =
    `{"success": true, "result": {"status": "success", "model": "${name}", "data": "${base64(file)}", ` +
    `"size": ${file.length}}, "error": null}`;
  return {
    size: file.length,
    head: new TextEncoder().encode(text.slice(0, Math.ceil((R2_MIN_PART_BYTES * 4) / 3) + 10_000)),
  };
}

describe("a download whose answer stalls after its headers", () => {
  it("fails at the download's own time-out, naming the toolkit and how much it sent", async () => {
    const name = uniqueName("stalled");
    const { size, head } = answerHead(name);
    const deps = {
      bucket: env.STAGING,
      upstream: new BridgeUpstream(new ToolkitClient(new StallingDownload(name, size, head), 5_000)),
      config: { ...readConfig(env), MODEL_DOWNLOAD_TIMEOUT_MS: 1_000 },
      partBytes: R2_MIN_PART_BYTES,
    };
    const error = await failureOf(stageModel(deps, name));
    expect(error.kind).toBe("timeout");
    expect(error.hop).toBe("reach");
    expect(error.message).toMatch(
      /^the toolkit at http:\/\/127\.0\.0\.1:9 did not answer download_model within 1 s \(it sent \d+ bytes of its answer, then nothing more\): is the tunnel running and the toolkit up\? see tunnel\/README\.md$/,
    );
    expect(await keysUnder(`models/${name}/`)).toEqual([]);
    expect(await keysUnder(`manifests/${name}.json`)).toEqual([]);
  }, 20_000);

  it("fails after the per-call time-out of silence, long before a long download time-out", async () => {
    const name = uniqueName("silent");
    const { size, head } = answerHead(name);
    const deps = {
      bucket: env.STAGING,
      upstream: new BridgeUpstream(new ToolkitClient(new StallingDownload(name, size, head), 500)),
      config: { ...readConfig(env), MODEL_DOWNLOAD_TIMEOUT_MS: 60_000 },
      partBytes: R2_MIN_PART_BYTES,
    };
    const started = Date.now();
    const error = await failureOf(stageModel(deps, name));
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(
      /^the toolkit at http:\/\/127\.0\.0\.1:9 stopped sending its answer to download_model: nothing for 0\.5 s after \d+ bytes: is the tunnel running/,
    );
    expect(await keysUnder(`models/${name}/`)).toEqual([]);
  }, 20_000);
});
