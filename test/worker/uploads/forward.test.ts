import { env, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../../src/config";
import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import {
  batchTimeoutMs,
  forwardNext,
  forwardStallMs,
  type ForwardDeps,
  type ForwardImage,
} from "../../../src/uploads/forward";
import { sessionStub, type UploadSession } from "../../../src/uploads/session";
import type { ForwardProgress } from "../../../src/uploads/types";
import { image, newSession } from "./support";
import { uploadedAnswer } from "../helpers/scripted-toolkit";

/** A toolkit that reads each streamed upload_dataset body whole and remembers what arrived. */
class RecordingToolkit implements ToolkitTransport {
  readonly kind = "direct" as const;
  readonly target = "http://127.0.0.1:9";
  readonly bodies: Array<{
    length: number;
    declared: string | null;
    images: Array<{ filename: string; caption: string; data: string }>;
  }> = [];
  failOnBatch: number | undefined;
  listed = 0;

  async fetch(_path: string, init: RequestInit = {}): Promise<Response> {
    const text = await new Response(init.body).text();
    const body = JSON.parse(text) as {
      tool: string;
      arguments: { dataset_name: string; images: Array<{ filename: string; caption: string; data: string }> };
    };
    if (body.tool === "list_datasets")
      return Response.json({ success: true, result: { datasets: [{ name: "ds", images: this.listed }] }, error: null });
    if (this.bodies.length + 1 === this.failOnBatch) {
      this.failOnBatch = undefined;
      throw new Error("connection reset");
    }
    this.bodies.push({
      length: new TextEncoder().encode(text).length,
      declared: new Headers(init.headers).get("content-length"),
      images: body.arguments.images,
    });
    this.listed += body.arguments.images.length;
    return uploadedAnswer(body.arguments.images.length);
  }
}

function base64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

describe("forwarding", () => {
  it("streams batches under the limit, byte-exact, and a retry re-sends only what did not arrive", async () => {
    const config = { ...readConfig(env), UPLOAD_BATCH_MAX_BYTES: 40_000 };
    const files = Array.from({ length: 12 }, (_, i) => ({
      name: `img_${i}.png`,
      bytes: image("png", 7000 + i * 1001, i),
    }));
    const images: ForwardImage[] = [];
    for (const file of files) {
      const key = `test-forward/${file.name}`;
      await env.STAGING.put(key, file.bytes);
      images.push({ name: file.name, size: file.bytes.length, caption: `caption ${file.name} "quoted"`, key });
    }
    const transport = new RecordingToolkit();
    transport.failOnBatch = 3;
    const toolkit = new BridgeUpstream(new ToolkitClient(transport, 5000));
    const sent = new Set<string>();
    let progress: ForwardProgress = { batchesTotal: 0, batchesDone: 0, filesSent: 0, bytesSent: 0 };
    const deps = { config, upstream: toolkit, bucket: env.STAGING, datasetName: "ds", expectedImages: files.length };
    // What the session does: one step at a time, recording each confirmed batch before the next.
    const forwardAll = async () => {
      for (;;) {
        const step = await forwardNext({ ...deps, pending: images.filter((i) => !sent.has(i.name)), progress });
        progress = step.progress;
        if (step.kind === "complete") return step.progress;
        for (const image of step.sent) sent.add(image.name);
      }
    };
    await expect(forwardAll()).rejects.toThrow(/could not be reached/);
    const firstTry = transport.bodies.length;
    expect(firstTry).toBe(2);
    const final = await forwardAll();
    expect(final.filesSent).toBe(files.length);
    expect(final.toolkitImages).toBe(files.length);
    const arrived = transport.bodies.flatMap((b) => b.images);
    expect(arrived.map((i) => i.filename)).toEqual(files.map((f) => f.name));
    arrived.forEach((got, i) => {
      expect(got.data).toBe(base64(files[i]!.bytes));
      expect(got.caption).toBe(`caption ${files[i]!.name} "quoted"`);
    });
    for (const body of transport.bodies) {
      expect(body.length).toBeLessThanOrEqual(40_000);
      expect(body.declared).toBe(String(body.length));
    }
  });

  it("reads the toolkit's answer like every other call: an Access login page says so", async () => {
    const key = "test-forward/access.png";
    const bytes = image("png", 3000);
    await env.STAGING.put(key, bytes);
    const access: ToolkitTransport = {
      kind: "direct",
      target: "http://127.0.0.1:9",
      fetch: async (_path, init = {}) => {
        await new Response(init.body).arrayBuffer();
        return new Response("<html><title>Sign in ・ Cloudflare Access</title></html>", {
          headers: { "Content-Type": "text/html" },
        });
      },
    };
    const failure = forwardNext({
      config: readConfig(env),
      upstream: new BridgeUpstream(new ToolkitClient(access, 5000)),
      bucket: env.STAGING,
      datasetName: "ds",
      pending: [{ name: "access.png", size: bytes.length, caption: "", key }],
      expectedImages: 1,
      progress: { batchesTotal: 0, batchesDone: 0, filesSent: 0, bytesSent: 0 },
    } satisfies ForwardDeps);
    await expect(failure).rejects.toThrow(/Cloudflare Access answered upload_dataset with its login page/);
  });

  it("stops reading the staged image when the request fails", async () => {
    let opened = false;
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(new Uint8Array(16 * 1024)),
      cancel() {
        cancelled = true;
      },
    });
    const bucket = {
      get: async () => {
        opened = true;
        return { body: endless };
      },
    } as unknown as R2Bucket;
    const dropping: ToolkitTransport = {
      kind: "direct",
      target: "http://127.0.0.1:9",
      // Like a connection that drops mid-request: the runtime lets go of the request body.
      fetch: async (_path, init = {}) => {
        const reader = (init.body as ReadableStream<Uint8Array>).getReader();
        let received = 0;
        while (!opened || received < 100_000) received += (await reader.read()).value?.byteLength ?? 0;
        await reader.cancel(new Error("connection reset"));
        throw new Error("connection reset");
      },
    };
    const failure = forwardNext({
      config: readConfig(env),
      upstream: new BridgeUpstream(new ToolkitClient(dropping, 5000)),
      bucket,
      datasetName: "ds",
      pending: [{ name: "big.png", size: 50 * 1024 * 1024, caption: "", key: "unused" }],
      expectedImages: 1,
      progress: { batchesTotal: 0, batchesDone: 0, filesSent: 0, bytesSent: 0 },
    } satisfies ForwardDeps);
    await expect(failure).rejects.toThrow(/could not be reached \(connection reset\)/);
    await expect.poll(() => cancelled, { timeout: 2000 }).toBe(true);
  });

  it("finalize runs in the session's alarm and records a failure that says what to do", async () => {
    const { base, tokenHash } = await newSession("ds");
    const stub = sessionStub(env, tokenHash);
    // Refused like the test config's toolkit (nothing on 127.0.0.1:9), once the test has looked.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const refusing: ToolkitTransport = {
      kind: "direct",
      target: "http://127.0.0.1:9",
      fetch: async () => {
        await gate;
        throw new Error("connection refused");
      },
    };
    await runInDurableObject(stub, (instance: UploadSession) => {
      instance.upstream = new BridgeUpstream(new ToolkitClient(refusing, 5000));
    });
    await SELF.fetch(`${base}/files/a.png`, { method: "PUT", body: image("png", 500) });
    const started = await SELF.fetch(`${base}/finalize`, { method: "POST" });
    expect(started.status).toBe(202);
    expect(((await started.json()) as { state: string }).state).toBe("forwarding");
    const busy = await SELF.fetch(`${base}/files/b.png`, { method: "PUT", body: image("png", 500) });
    expect(busy.status).toBe(409);
    release();
    await runDurableObjectAlarm(stub);
    await expect
      .poll(async () => {
        const m = await stub.manifest();
        return m.ok && m.value.state;
      })
      .toBe("failed");
    const m = await stub.manifest();
    expect(m.ok && m.value.forward.error).toMatch(/127\.0\.0\.1:9.*finalize again/s);
    // Still open for changes after a failure, and nothing was marked sent.
    expect(m.ok && m.value.files.map((f) => f.state)).toEqual(["staged"]);
  });

  it("sends one batch per alarm invocation, recording each before the next starts", async () => {
    const { base, tokenHash } = await newSession("ds");
    const stub = sessionStub(env, tokenHash);
    const transport = new RecordingToolkit();
    let release = () => {};
    let holding = false;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const send = transport.fetch.bind(transport);
    // The second batch waits until the test has looked at the session.
    transport.fetch = async (path, init) => {
      if (transport.bodies.length === 1 && !holding) {
        holding = true;
        await gate;
      }
      return send(path, init);
    };
    await runInDurableObject(stub, (instance: UploadSession) => {
      instance.config = { ...instance.config, UPLOAD_BATCH_MAX_BYTES: 40_000 };
      instance.upstream = new BridgeUpstream(new ToolkitClient(transport, 5000));
    });
    for (let i = 0; i < 9; i++)
      expect(
        (await SELF.fetch(`${base}/files/img_${i}.png`, { method: "PUT", body: image("png", 7000, i) })).status,
      ).toBe(201);
    expect((await SELF.fetch(`${base}/finalize`, { method: "POST" })).status).toBe(202);
    await expect.poll(() => holding, { timeout: 5000 }).toBe(true);
    const during = await stub.manifest();
    if (!during.ok) throw new Error(during.error);
    // 9 images of ~9.4 KB of base64 in 40 KB bodies: 3 batches. The first is recorded...
    expect(during.value).toMatchObject({
      state: "forwarding",
      totals: { sent: 4 },
      forward: { batchesDone: 1, batchesTotal: 3, filesSent: 4 },
    });
    // ...and the second runs in an invocation of its own, which set the stall alarm as it began.
    const alarm = await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThan(
      Date.now() + forwardStallMs({ ...readConfig(env), UPLOAD_BATCH_MAX_BYTES: 40_000 }) - 60_000,
    );
    release();
    await expect
      .poll(
        async () => {
          const m = await stub.manifest();
          return m.ok && m.value.state;
        },
        { timeout: 5000 },
      )
      .toBe("complete");
    expect(transport.bodies.map((b) => b.images.length)).toEqual([4, 4, 1]);
  });

  it("a session stuck forwarding after its alarm died fails with a clear error, and can then be deleted", async () => {
    const { base, tokenHash } = await newSession("ds");
    const stub = sessionStub(env, tokenHash);
    await SELF.fetch(`${base}/files/a.png`, { method: "PUT", body: image("png", 500) });
    expect((await SELF.fetch(`${base}/finalize`, { method: "POST" })).status).toBe(202);
    // Let the first attempt fail (nothing listens on 127.0.0.1:9), then put the session back
    // as an invocation killed mid-batch leaves it: forwarding, no alarm, no recent progress.
    await expect
      .poll(async () => {
        const m = await stub.manifest();
        return m.ok && m.value.state;
      })
      .toBe("failed");
    await runInDurableObject(stub, async (_instance: UploadSession, state) => {
      await state.storage.deleteAlarm();
      const row = state.storage.sql.exec<{ json: string }>("SELECT json FROM meta").one();
      const meta = JSON.parse(row.json) as { state: string; forward: { activeAt: number; error?: string } };
      meta.state = "forwarding";
      meta.forward.activeAt = Date.now() - forwardStallMs(readConfig(env)) - 1000;
      delete meta.forward.error;
      state.storage.sql.exec("UPDATE meta SET json = ?", JSON.stringify(meta));
    });
    const m = await stub.manifest();
    expect(m.ok && m.value.state).toBe("failed");
    expect(m.ok && m.value.forward.error).toMatch(/stopped making progress.*finalize again/);
    // The alarm that removes the session at expiry is back.
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).not.toBeNull();
    expect((await SELF.fetch(base, { method: "DELETE" })).status).toBe(200);
  });

  it(
    "gives a batch the per-call time-out plus a second per 250 kB of body, and a session that long (plus " +
      "room) before it counts as stalled",
    () => {
      const config = readConfig(env);
      expect(config.TOOLKIT_TIMEOUT_MS).toBe(30_000);
      // A full batch with the defaults, and upload_dataset's inline images (one MCP request, under 4 MiB).
      expect(batchTimeoutMs(config, 90_000_000)).toBe(390_000);
      expect(batchTimeoutMs(config, 4 * 1024 * 1024)).toBe(47_000);
      expect(batchTimeoutMs({ TOOLKIT_TIMEOUT_MS: 500 }, 3_000)).toBe(1_500);
      expect(forwardStallMs(config)).toBe(390_000 + 300_000);
    },
  );

  it("refuses to finalize an empty session", async () => {
    const { base } = await newSession("ds");
    const r = await SELF.fetch(`${base}/finalize`, { method: "POST" });
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: string }).error).toMatch(/no images/);
  });
});
