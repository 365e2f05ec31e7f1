import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { stageModel } from "../../../src/models/stage";
import { R2_MIN_PART_BYTES as MIN_PART_BYTES } from "../../../src/r2/multipart";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import { ToolkitError } from "../../../src/toolkit/errors";
import type { ScriptedToolkit } from "../helpers/scripted-toolkit";
import { bytesOf, downloadAnswer, keysUnder, safetensorsFile, sha256Hex, toolkitWith, uniqueName } from "./support";

const config = readConfig(env);

function deps(toolkit: ScriptedToolkit, extra: { now?: () => number; partBytes?: number } = {}) {
  return { bucket: env.STAGING, upstream: new BridgeUpstream(new ToolkitClient(toolkit, 5_000)), config, ...extra };
}

async function stagedBytes(key: string): Promise<Uint8Array> {
  const object = await env.STAGING.get(key);
  if (!object) throw new Error(`${key} is not in R2`);
  return new Uint8Array(await object.arrayBuffer());
}

/** Nothing of the model is left in R2: no file, no manifest. */
async function expectNothingStaged(name: string): Promise<void> {
  expect(await keysUnder(`models/${name}/`)).toEqual([]);
  expect(await keysUnder(`manifests/${name}.json`)).toEqual([]);
}

async function expectFailure(promise: Promise<unknown>, message: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolkitError);
  expect((error as Error).message).toMatch(message);
}

describe("stageModel", () => {
  it("streams a small safetensors model into R2 with its size, SHA-256 and metadata", async () => {
    const name = uniqueName("small");
    const file = safetensorsFile(100_000, { ss_network_dim: "16", ss_output_name: name });
    const { model, reused } = await stageModel(
      deps(toolkitWith(name, file.length, downloadAnswer(name, file, { chunk: 997 }))),
      name,
    );
    expect(reused).toBe(false);
    expect(model.size).toBe(file.length);
    expect(model.sha256).toBe(await sha256Hex(file));
    expect(model.filename).toBe(`${name}.safetensors`);
    expect(model.safetensors).toEqual({ tensors: 1, metadata: { ss_network_dim: "16", ss_output_name: name } });
    expect(await stagedBytes(model.key)).toEqual(file);
    expect(await keysUnder(`manifests/${name}.json`)).toHaveLength(1);
  });

  it("writes a model of several parts byte for byte, whatever the answer's chunking", async () => {
    const name = uniqueName("multi");
    // Two full parts and a short last one.
    const file = bytesOf(2 * MIN_PART_BYTES + 123_457, 3);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file, { chunk: 1_048_573 }));
    const { model } = await stageModel(deps(toolkit, { partBytes: MIN_PART_BYTES }), name);
    expect(model.size).toBe(file.length);
    expect(model.sha256).toBe(await sha256Hex(file));
    expect(model.safetensors).toBeUndefined();
    const stored = await stagedBytes(model.key);
    expect(stored.length).toBe(file.length);
    expect(await sha256Hex(stored)).toBe(model.sha256);
  });

  it("reuses an unchanged staged model without pulling it through the tunnel again", async () => {
    const name = uniqueName("reuse");
    const file = safetensorsFile(5_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file));
    const first = await stageModel(deps(toolkit), name);
    const second = await stageModel(deps(toolkit), name);
    expect(second.reused).toBe(true);
    expect(second.model.key).toBe(first.model.key);
    expect(toolkit.callsTo("download_model")).toHaveLength(1);
  });

  it("stages again when the model changed on the toolkit, and deletes the replaced copy", async () => {
    const name = uniqueName("changed");
    const before = safetensorsFile(5_000);
    const after = safetensorsFile(6_000);
    const first = await stageModel(deps(toolkitWith(name, before.length, downloadAnswer(name, before))), name);
    const second = await stageModel(deps(toolkitWith(name, after.length, downloadAnswer(name, after))), name);
    expect(second.reused).toBe(false);
    expect(second.model.sha256).toBe(await sha256Hex(after));
    expect(await env.STAGING.head(first.model.key)).toBeNull();
    expect(await keysUnder(`models/${name}/`)).toEqual([second.model.key]);
  });

  it("stages again once the staged copy has expired, deleting the expired one", async () => {
    const name = uniqueName("expired");
    const file = safetensorsFile(5_000);
    const toolkit = toolkitWith(name, file.length, downloadAnswer(name, file));
    const start = Date.now();
    const first = await stageModel(deps(toolkit, { now: () => start }), name);
    const later = start + (config.STAGED_MODEL_TTL_SECONDS + 1) * 1000;
    const second = await stageModel(deps(toolkit, { now: () => later }), name);
    expect(second.reused).toBe(false);
    expect(toolkit.callsTo("download_model")).toHaveLength(2);
    expect(await env.STAGING.head(first.model.key)).toBeNull();
  });

  it("names a model the listing does not show after what its bytes are", async () => {
    const name = uniqueName("unlisted");
    const file = safetensorsFile(1_000);
    const toolkit = toolkitWith(name, 0, downloadAnswer(name, file)).on("list_exported_models", {
      result: { models: [] },
    });
    const { model } = await stageModel(deps(toolkit), name);
    expect(model.filename).toBe(`${name}.safetensors`);
  });
});

describe("stageModel leaves nothing half-written", () => {
  const big = bytesOf(MIN_PART_BYTES + 500_000, 9);

  it("when the answer is cut off after a part was already uploaded", async () => {
    const name = uniqueName("cut");
    const answer = downloadAnswer(name, big, { cutAt: 7_500_000 });
    await expectFailure(
      stageModel(deps(toolkitWith(name, big.length, answer), { partBytes: MIN_PART_BYTES }), name),
      /cut off|not its JSON envelope/,
    );
    await expectNothingStaged(name);
  });

  it("when the base64 is corrupt", async () => {
    const name = uniqueName("corrupt");
    const file = bytesOf(30_000);
    const data = `${btoa("abc").repeat(100)}@@@@${btoa("abc").repeat(100)}`;
    await expectFailure(
      stageModel(deps(toolkitWith(name, file.length, downloadAnswer(name, file, { data }))), name),
      /not valid base64/,
    );
    await expectNothingStaged(name);
  });

  it("when the answer is not the toolkit's envelope", async () => {
    const name = uniqueName("html");
    const html = () =>
      new Response("<html><body>Bad gateway</body></html>", { headers: { "Content-Type": "text/html" } });
    await expectFailure(stageModel(deps(toolkitWith(name, 10, html)), name), /not its JSON envelope/);
    await expectNothingStaged(name);
  });

  it("when the toolkit reports a size other than what it sent", async () => {
    const name = uniqueName("size");
    const file = bytesOf(MIN_PART_BYTES + 10, 4);
    const answer = downloadAnswer(name, file, { size: file.length + 1 });
    await expectFailure(
      stageModel(deps(toolkitWith(name, file.length, answer), { partBytes: MIN_PART_BYTES }), name),
      /reported \d+ bytes .* but sent \d+/,
    );
    await expectNothingStaged(name);
  });

  it("when the toolkit says the model does not exist", async () => {
    const name = uniqueName("missing");
    const toolkit = toolkitWith(name, 10, () =>
      Response.json({ success: true, result: { error: "Model not found" }, error: null }),
    );
    await expectFailure(stageModel(deps(toolkit), name), /Model not found/);
    await expectNothingStaged(name);
  });
});
