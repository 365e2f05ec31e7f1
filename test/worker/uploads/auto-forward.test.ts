import { env, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import type { Manifest } from "../../../src/uploads/types";
import { image, newSession } from "./support";
import { uploadedAnswer } from "../helpers/scripted-toolkit";

interface Arrived {
  filename: string;
  caption: string;
  data: string;
}

/**
 * A bridge that keeps what each upload_dataset body carried and counts the images it holds (the
 * last copy of a file wins, as on disk). `hold` makes the next batch wait until released.
 */
class Toolkit implements ToolkitTransport {
  readonly kind = "direct" as const;
  readonly target = "http://127.0.0.1:9";
  readonly batches: Arrived[][] = [];
  readonly disk = new Map<string, Arrived>();
  private gate: Promise<void> | undefined;
  private open = () => {};
  holding = false;
  /** Never answers a batch (until the request's own time-out aborts it). */
  silent = false;

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.gate = undefined;
    this.open();
  }

  async fetch(_path: string, init: RequestInit = {}): Promise<Response> {
    const text = await new Response(init.body).text();
    const body = JSON.parse(text) as { tool: string; arguments: { images: Arrived[] } };
    if (body.tool === "list_datasets")
      return Response.json({
        success: true,
        result: { datasets: [{ name: "ds", images: this.disk.size }] },
        error: null,
      });
    if (this.silent)
      return new Promise((_resolve, reject) =>
        init.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    if (this.gate) {
      this.holding = true;
      await this.gate;
      this.holding = false;
    }
    this.batches.push(body.arguments.images);
    for (const arrived of body.arguments.images) this.disk.set(arrived.filename, arrived);
    return uploadedAnswer(body.arguments.images.length);
  }

  sent(): string[] {
    return this.batches.flat().map((arrived) => arrived.filename);
  }
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

async function autoSession(toolkit: Toolkit, timeoutMs = 5000) {
  const session = await newSession("ds", { defaultCaption: "default", autoForward: true });
  const stub = sessionStub(env, session.tokenHash);
  await runInDurableObject(stub, (instance: UploadSession) => {
    instance.config = { ...instance.config, TOOLKIT_TIMEOUT_MS: timeoutMs };
    instance.upstream = new BridgeUpstream(new ToolkitClient(toolkit, timeoutMs));
  });
  const manifest = async (): Promise<Manifest> => {
    const m = await stub.manifest();
    if (!m.ok) throw new Error(m.error);
    return m.value;
  };
  const stateOf = async (name: string) => (await manifest()).files.find((f) => f.name === name)?.state;
  const put = (path: string, body: Uint8Array | string) =>
    SELF.fetch(`${session.base}/${path}`, { method: "PUT", body });
  return { ...session, stub, manifest, stateOf, put };
}

describe("auto-forward", () => {
  it("sends a captioned image while the upload is open, keeps an uncaptioned one for finalize, then checks the count", async () => {
    const toolkit = new Toolkit();
    const s = await autoSession(toolkit);
    expect((await s.manifest()).auto_forward).toBe(true);
    expect((await s.put("captions/a.png", "a cat")).status).toBe(200);
    const a = image("png", 3000, 1);
    expect((await s.put("files/a.png", a)).status).toBe(201);
    await expect.poll(() => s.stateOf("a.png"), { timeout: 5000 }).toBe("sent");
    expect((await s.manifest()).state).toBe("open");
    expect(toolkit.batches).toEqual([[{ filename: "a.png", caption: "a cat", data: base64(a) }]]);

    // b has no caption of its own yet: its .txt may still come, so it waits for finalize.
    expect((await s.put("files/b.png", image("png", 3000, 2))).status).toBe(201);
    expect((await s.put("files/c.txt", "late caption")).status).toBe(201);
    expect((await s.put("files/c.png", image("png", 3000, 3))).status).toBe(201);
    await expect.poll(() => s.stateOf("c.png"), { timeout: 5000 }).toBe("sent");
    expect(await s.stateOf("b.png")).toBe("staged");
    expect((await s.put("files/b.txt", "b caption")).status).toBe(201);
    await expect.poll(() => s.stateOf("b.png"), { timeout: 5000 }).toBe("sent");

    expect((await SELF.fetch(`${s.base}/finalize`, { method: "POST" })).status).toBe(202);
    await expect.poll(async () => (await s.manifest()).state, { timeout: 5000 }).toBe("complete");
    // Each image once, each with its own caption.
    expect(toolkit.sent().sort()).toEqual(["a.png", "b.png", "c.png"]);
    expect(toolkit.disk.get("b.png")?.caption).toBe("b caption");
    expect((await s.manifest()).forward.toolkitImages).toBe(3);
  });

  it("sends nothing early without auto_forward", async () => {
    const toolkit = new Toolkit();
    const session = await newSession("ds");
    const stub = sessionStub(env, session.tokenHash);
    await runInDurableObject(stub, (instance: UploadSession) => {
      instance.upstream = new BridgeUpstream(new ToolkitClient(toolkit, 5000));
    });
    await SELF.fetch(`${session.base}/captions/a.png`, { method: "PUT", body: "a cat" });
    expect((await SELF.fetch(`${session.base}/files/a.png`, { method: "PUT", body: image("png", 3000) })).status).toBe(
      201,
    );
    await runInDurableObject(stub, async (instance: UploadSession) => instance.alarm());
    expect(toolkit.batches).toHaveLength(0);
    const m = await stub.manifest();
    expect(m.ok && m.value.auto_forward).toBe(false);
  });

  it("a caption changed after its image was sent sends the image again, so the toolkit ends with the new one", async () => {
    const toolkit = new Toolkit();
    const s = await autoSession(toolkit);
    await s.put("captions/a.png", "first");
    await s.put("files/a.png", image("png", 3000));
    await expect.poll(() => s.stateOf("a.png"), { timeout: 5000 }).toBe("sent");
    // The same text again changes nothing.
    await s.put("captions/a.png", "first");
    expect(await s.stateOf("a.png")).toBe("sent");
    expect((await s.put("captions/a.png", "second")).status).toBe(200);
    await expect.poll(() => toolkit.batches.length, { timeout: 5000 }).toBe(2);
    await expect.poll(() => s.stateOf("a.png"), { timeout: 5000 }).toBe("sent");
    expect(toolkit.disk.get("a.png")?.caption).toBe("second");
    // Every image already sent: finalize still runs the count check and completes.
    expect((await SELF.fetch(`${s.base}/finalize`, { method: "POST" })).status).toBe(202);
    await expect.poll(async () => (await s.manifest()).state, { timeout: 5000 }).toBe("complete");
    expect(toolkit.batches).toHaveLength(2);
  });

  it("a caption or image that changes while its batch is in flight is not marked sent, and goes again", async () => {
    const toolkit = new Toolkit();
    const s = await autoSession(toolkit);
    toolkit.hold();
    await s.put("captions/a.png", "old caption");
    await s.put("files/a.png", image("png", 3000, 1));
    await s.put("captions/b.png", "b");
    await expect.poll(() => toolkit.holding, { timeout: 5000 }).toBe(true);
    // While a's batch is on its way: a new caption for a, and b (not in that batch) arrives.
    expect((await s.put("captions/a.png", "new caption")).status).toBe(200);
    const b = image("png", 3000, 2);
    expect((await s.put("files/b.png", b)).status).toBe(201);
    toolkit.release();
    await expect.poll(() => toolkit.batches.length, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    await expect
      .poll(async () => (await s.manifest()).files.map((f) => f.state), { timeout: 5000 })
      .toEqual(["sent", "sent"]);
    expect(toolkit.disk.get("a.png")?.caption).toBe("new caption");
    expect(toolkit.disk.get("b.png")?.data).toBe(base64(b));
    expect(toolkit.sent().filter((n) => n === "a.png")).toHaveLength(2);

    // The image itself replaced mid-flight: the new bytes reach the toolkit.
    toolkit.hold();
    await s.put("captions/c.png", "c");
    await s.put("files/c.png", image("png", 3000, 3));
    await expect.poll(() => toolkit.holding, { timeout: 5000 }).toBe(true);
    const replaced = image("png", 4000, 4);
    expect((await s.put("files/c.png", replaced)).status).toBe(201);
    toolkit.release();
    await expect.poll(() => toolkit.disk.get("c.png")?.data, { timeout: 5000 }).toBe(base64(replaced));
    await expect.poll(() => s.stateOf("c.png"), { timeout: 5000 }).toBe("sent");
  });

  it("finalize while an early batch is in flight: the batch counts once and finalize completes after it", async () => {
    const toolkit = new Toolkit();
    const s = await autoSession(toolkit);
    toolkit.hold();
    await s.put("captions/a.png", "a");
    await s.put("files/a.png", image("png", 3000, 1));
    await s.put("files/b.png", image("png", 3000, 2));
    await expect.poll(() => toolkit.holding, { timeout: 5000 }).toBe(true);
    const finalize = await SELF.fetch(`${s.base}/finalize`, { method: "POST" });
    expect(finalize.status).toBe(202);
    expect((await s.put("files/c.png", image("png", 3000, 3))).status).toBe(409);
    toolkit.release();
    await expect.poll(async () => (await s.manifest()).state, { timeout: 5000 }).toBe("complete");
    expect(toolkit.sent().sort()).toEqual(["a.png", "b.png"]);
    expect(toolkit.disk.get("b.png")?.caption).toBe("default");
  });

  it("a toolkit that never answers mid-batch: the early batch times out, the upload stays open, finalize re-sends", async () => {
    const toolkit = new Toolkit();
    toolkit.silent = true;
    const s = await autoSession(toolkit, 200);
    await s.put("captions/a.png", "a");
    await s.put("files/a.png", image("png", 3000));
    await expect.poll(async () => (await s.manifest()).forward.error, { timeout: 10_000 }).toMatch(/finalize re-sends/);
    const m = await s.manifest();
    expect(m.state).toBe("open");
    expect(m.forward.errorKind).toBe("timeout");
    expect(m.files.map((f) => f.state)).toEqual(["staged"]);
    // Still taking files; the toolkit is back; finalize sends what was never confirmed.
    toolkit.silent = false;
    expect((await s.put("files/b.png", image("png", 3000, 2))).status).toBe(201);
    expect((await SELF.fetch(`${s.base}/finalize`, { method: "POST" })).status).toBe(202);
    await expect.poll(async () => (await s.manifest()).state, { timeout: 5000 }).toBe("complete");
    expect(toolkit.sent().sort()).toEqual(["a.png", "b.png"]);
    expect((await s.manifest()).forward.error).toBeUndefined();
  });

  it("a caption changed after a failed final check sends its image again at the next finalize", async () => {
    const toolkit = new Toolkit();
    const session = await newSession("ds");
    const stub = sessionStub(env, session.tokenHash);
    let lose = true;
    // The first batch "arrives" but the toolkit then lists nothing: the final check fails.
    const losing: ToolkitTransport = {
      kind: "direct",
      target: toolkit.target,
      fetch: async (path, init) => {
        const answer = await toolkit.fetch(path, init);
        if (lose && toolkit.batches.length === 1) {
          toolkit.disk.clear();
          lose = false;
        }
        return answer;
      },
    };
    await runInDurableObject(stub, (instance: UploadSession) => {
      instance.upstream = new BridgeUpstream(new ToolkitClient(losing, 5000));
    });
    await SELF.fetch(`${session.base}/files/a.png`, { method: "PUT", body: image("png", 3000) });
    await SELF.fetch(`${session.base}/finalize`, { method: "POST" });
    const state = async () => {
      const m = await stub.manifest();
      return m.ok ? m.value.state : m.error;
    };
    await expect.poll(state, { timeout: 5000 }).toBe("failed");
    // Every image was sent, yet finalize again is allowed (it re-checks); a new caption goes along.
    expect((await SELF.fetch(`${session.base}/captions/a.png`, { method: "PUT", body: "fixed" })).status).toBe(200);
    expect((await SELF.fetch(`${session.base}/finalize`, { method: "POST" })).status).toBe(202);
    await expect.poll(state, { timeout: 5000 }).toBe("complete");
    expect(toolkit.batches).toHaveLength(2);
    expect(toolkit.disk.get("a.png")?.caption).toBe("fixed");
  });
});
