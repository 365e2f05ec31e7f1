import { createHash } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, startStack, type Stack } from "./harness";
import { hashBody, writeSafetensors } from "./model-files";

/**
 * Trained models coming home through the real stack: the local toolkit answers
 * download_model with a 150 MB model as one base64 JSON body, the Worker (wrangler dev)
 * stages it in its local R2, and the file is fetched back through the signed link.
 */
// E2E_MODEL_MB shrinks the model for a quick local run (README, "Tests").
const SIZE = Number(process.env.E2E_MODEL_MB ?? 150) * 1024 * 1024;
const LONG = { timeout: 600_000 };

describe("model downloads end to end", () => {
  let stack: Stack;
  let onDisk: string;

  beforeAll(async () => {
    stack = await startStack();
    onDisk = await writeSafetensors(join(stack.dataDir, "outputs", "big_lora.safetensors"), SIZE, {
      ss_network_dim: "32",
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it(
    `downloads a ${SIZE / 1024 / 1024} MiB model through the signed link, byte-identical to the toolkit's ` + `file`,
    async () => {
      const client = await stack.connect();
      const result = await client.callTool(
        { name: "download_model", arguments: { model_name: "big_lora" } },
        undefined,
        LONG,
      );
      const s = (result.structuredContent ?? {}) as Record<string, unknown>;
      expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
      expect(s.size).toBe(SIZE);
      expect(s.sha256).toBe(onDisk);
      expect(s.data).toBeUndefined();
      expect(s.inline_skipped).toMatch(/over the .* limit/);
      expect((s.safetensors as { metadata: Record<string, string> }).metadata.ss_network_dim).toBe("32");
      const url = String(s.download_url);
      expect(url.startsWith(`${stack.workerUrl}/downloads/`)).toBe(true);

      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-length")).toBe(String(SIZE));
      expect(response.headers.get("content-disposition")).toMatch(/filename="big_lora\.safetensors"/);
      const { sha256, bytes } = await hashBody(response);
      expect(bytes).toBe(SIZE);
      expect(sha256).toBe(onDisk);
    },
    600_000,
  );

  it("resumes a cut-off download with a range request", async () => {
    const client = await stack.connect();
    const result = await callTool(client, "list_exported_models");
    const entry = (result.structuredContent?.models as Array<Record<string, unknown>>).find(
      (m) => m.name === "big_lora",
    );
    expect(entry?.staged).toBe(true);
    const url = String(entry?.download_url);

    // The first attempt dies after a quarter of the file, as a dropped connection would.
    const first = await hashBody(await fetch(url), Math.floor(SIZE / 4));
    const resumed = await fetch(url, { headers: { Range: `bytes=${first.bytes}-` } });
    expect(resumed.status).toBe(206);
    expect(resumed.headers.get("content-range")).toBe(`bytes ${first.bytes}-${SIZE - 1}/${SIZE}`);
    const hash: ReturnType<typeof createHash> = first.hash;
    const reader = resumed.body!.getReader();
    let total = first.bytes;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      hash.update(value);
      total += value.byteLength;
    }
    expect(total).toBe(SIZE);
    expect(hash.digest("hex")).toBe(onDisk);
  }, 600_000);

  it("reuses the staged copy for a second download of the unchanged model", async () => {
    const client = await stack.connect();
    const started = Date.now();
    const result = await client.callTool(
      { name: "download_model", arguments: { model_name: "big_lora", encoding: "raw" } },
      undefined,
      LONG,
    );
    const s = (result.structuredContent ?? {}) as Record<string, unknown>;
    expect(s.reused).toBe(true);
    expect(s.sha256).toBe(onDisk);
    // Nothing crossed the tunnel: this takes a listing, not the whole model again.
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 60_000);
});
