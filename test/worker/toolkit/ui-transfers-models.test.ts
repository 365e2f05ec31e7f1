import { describe, expect, it } from "vitest";
import type { ListedModel } from "../../../src/toolkit/upstream";
import { UiClient } from "../../../src/toolkit/ui/client";
import { MODEL_RESUMES, uiExportModel, uiListModels, uiOpenModel } from "../../../src/toolkit/ui/transfers";
import { failureOf, JOB_ID, jobRow, json, ScriptedUi, stallingBody } from "./ui-scripted";

const FOLDER = "/ai-toolkit/output/my_lora";
const FINAL = `${FOLDER}/my_lora.safetensors`;
const CHECKPOINT = `${FOLDER}/my_lora_000000500.safetensors`;
const OTHER_ID = "0b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
const GONE_ID = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";

const client = (ui: ScriptedUi, timeoutMs = 2000) => new UiClient(ui, { token: "t", timeoutMs, gpuIds: "0" });
const fileRoute = (path: string) => `GET /api/files/${encodeURIComponent(path)}`;

/** 300 000 bytes, every value 0-255. */
const MODEL = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff);

async function sha(data: ArrayBuffer | Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** A body that sends `data` in 10 000-byte chunks and then, when `cutAt` is reached, breaks or stalls. */
function body(data: Uint8Array, cutAt: number | null, how: "break" | "stall" = "break"): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (cutAt !== null && at >= cutAt) {
        if (how === "stall") return new Promise(() => {});
        controller.error(new TypeError("Network connection lost."));
        return;
      }
      if (at >= data.length) return controller.close();
      const end = Math.min(data.length, at + 10_000, cutAt ?? Infinity);
      controller.enqueue(data.slice(at, end));
      at = end;
    },
  });
}

/**
 * The front server (ui/cron/fileServer.ts) for one file: the whole file with 200, `bytes=N-`
 * with 206. Answers listed in `cuts` break (or stall) after that many bytes, one per request.
 */
function fileServer(data: Uint8Array, cuts: (number | null)[] = [], how: "break" | "stall" = "break") {
  return (request: Request) => {
    const cut = cuts.length > 0 ? (cuts.shift() ?? null) : null;
    const range = request.headers.get("range");
    const common = { "content-type": "application/octet-stream", "content-disposition": "attachment" };
    if (!range)
      return new Response(body(data, cut, how), { headers: { ...common, "content-length": String(data.length) } });
    const start = Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
    if (start >= data.length)
      return new Response(null, { status: 416, headers: { "content-range": `bytes */${data.length}` } });
    return new Response(body(data.subarray(start), cut === null ? null : cut, how), {
      status: 206,
      headers: {
        ...common,
        "content-range": `bytes ${start}-${data.length - 1}/${data.length}`,
        "content-length": String(data.length - start),
      },
    });
  };
}

const listed = (size = MODEL.length): ListedModel => ({ name: "my_lora", path: FINAL, size, job: "my_lora" });

async function download(ui: ScriptedUi, model = listed(), timeoutMs?: number) {
  const opened = await uiOpenModel(client(ui), model.name, model, timeoutMs ? { timeoutMs } : {});
  const received = new Uint8Array(await new Response(opened.body).arrayBuffer());
  await opened.verify(received.byteLength);
  return { opened, received };
}

describe("uiListModels", () => {
  it("lists final models and checkpoints of train jobs, leaving out optimizer.pt and other jobs' kinds", async () => {
    const ui = new ScriptedUi()
      .on(
        "GET /api/jobs",
        json({
          jobs: [
            jobRow({ updated_at: "2026-01-02T00:00:00.000Z" }),
            jobRow({ id: OTHER_ID, name: "captioner", job_type: "caption" }),
            jobRow({ id: GONE_ID, name: "gone" }),
          ],
        }),
      )
      .on(
        `GET /api/jobs/${JOB_ID}/files`,
        json({
          files: [
            { path: CHECKPOINT, size: 100 },
            { path: FINAL, size: 120 },
            { path: `${FOLDER}/my_lora_other.safetensors`, size: 5 },
            { path: `${FOLDER}/optimizer.pt`, size: 999 },
          ],
        }),
      )
      .on(`GET /api/jobs/${GONE_ID}/files`, json({ error: "Job not found" }, 404));
    const models = await uiListModels(client(ui));
    expect(models).toEqual([
      { name: "my_lora", path: FINAL, size: 120, mtime: "2026-01-02T00:00:00.000Z", job: "my_lora" },
      {
        name: "my_lora_000000500",
        path: CHECKPOINT,
        size: 100,
        mtime: "2026-01-01T10:00:00.000Z",
        job: "my_lora",
        step: 500,
      },
    ]);
    expect(ui.callsTo(`GET /api/jobs/${OTHER_ID}/files`)).toHaveLength(0);
    expect(JSON.stringify(models)).not.toContain("/api/");
  });

  it("gives a name to one file only when a job is named like another job's checkpoint", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json({ jobs: [jobRow(), jobRow({ id: OTHER_ID, name: "my_lora_000000500" })] }))
      .on(`GET /api/jobs/${JOB_ID}/files`, json({ files: [{ path: CHECKPOINT, size: 100 }] }))
      .on(
        `GET /api/jobs/${OTHER_ID}/files`,
        json({ files: [{ path: "/ai-toolkit/output/my_lora_000000500/my_lora_000000500.safetensors", size: 7 }] }),
      );
    const models = await uiListModels(client(ui));
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ name: "my_lora_000000500", size: 7 });
    expect(models[0]?.step).toBeUndefined();
  });
});

describe("uiOpenModel", () => {
  it("streams a whole model raw and verifies its size", async () => {
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL));
    const { opened, received } = await download(ui);
    expect(opened.filename).toBe("my_lora.safetensors");
    expect(await sha(received)).toBe(await sha(MODEL));
    expect(ui.calls).toHaveLength(1);
  });

  it("resumes a download cut mid-way with Range, the bytes identical", async () => {
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL, [123_000, 50_000]));
    const { received } = await download(ui);
    expect(received.byteLength).toBe(MODEL.length);
    expect(await sha(received)).toBe(await sha(MODEL));
    expect(ui.calls.map((call) => call.headers.get("range"))).toEqual([null, "bytes=123000-", "bytes=173000-"]);
  });

  it("resumes a download that stalls", async () => {
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL, [200_000], "stall"));
    const { received } = await download(ui, listed(), 300);
    expect(await sha(received)).toBe(await sha(MODEL));
    expect(ui.calls[1]?.headers.get("range")).toBe("bytes=200000-");
  });

  it("gives up after MODEL_RESUMES resumes, saying so", async () => {
    const cuts = Array.from({ length: MODEL_RESUMES + 1 }, () => 10_000);
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL, cuts));
    const opened = await uiOpenModel(client(ui), "my_lora", listed(), {});
    const error = await failureOf(new Response(opened.body).arrayBuffer());
    expect(error.kind).toBe("unreachable");
    expect(error.message).toMatch(new RegExp(`broke .*after ${MODEL_RESUMES} resumes of the download`));
    await expect(opened.verify(40_000)).rejects.toBe(error);
    expect(ui.calls).toHaveLength(MODEL_RESUMES + 1);
  });

  it("refuses a resume answered with the whole file (200 instead of 206)", async () => {
    let first = true;
    const ui = new ScriptedUi().on(fileRoute(FINAL), () => {
      const cut = first ? 100_000 : null;
      first = false;
      return new Response(body(MODEL, cut), { headers: { "content-length": String(MODEL.length) } });
    });
    const opened = await uiOpenModel(client(ui), "my_lora", listed(), {});
    const error = await failureOf(new Response(opened.body).arrayBuffer());
    expect(error.kind).toBe("protocol");
    expect(error.message).toMatch(
      /ignored the Range header .*HTTP 200 instead of 206.*download it again from the start/,
    );
    await expect(opened.verify(100_000)).rejects.toBe(error);
  });

  it("refuses a 206 that starts at another byte than the one reached", async () => {
    let first = true;
    const ui = new ScriptedUi().on(fileRoute(FINAL), () => {
      if (first) {
        first = false;
        return new Response(body(MODEL, 100_000), { headers: { "content-length": String(MODEL.length) } });
      }
      return new Response(MODEL.slice(0), {
        status: 206,
        headers: { "content-range": `bytes 0-${MODEL.length - 1}/${MODEL.length}` },
      });
    });
    const opened = await uiOpenModel(client(ui), "my_lora", listed(), {});
    const error = await failureOf(new Response(opened.body).arrayBuffer());
    expect(error.kind).toBe("protocol");
    expect(error.message).toMatch(/does not start there/);
  });

  it("refuses a file whose size changed since it was listed, before and during the download", async () => {
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL));
    const before = await failureOf(uiOpenModel(client(ui), "my_lora", listed(MODEL.length + 1), {}));
    expect(before.kind).toBe("tool");
    expect(before.message).toMatch(/is 300000 bytes now, not the 300001 it was listed with/);

    const grown = Uint8Array.from([...MODEL, 1, 2, 3]);
    let first = true;
    const changing = new ScriptedUi().on(fileRoute(FINAL), (request) => {
      if (first) {
        first = false;
        return new Response(body(MODEL, 50_000), { headers: { "content-length": String(MODEL.length) } });
      }
      return fileServer(grown)(request);
    });
    const opened = await uiOpenModel(client(changing), "my_lora", listed(), {});
    const during = await failureOf(new Response(opened.body).arrayBuffer());
    expect(during.message).toMatch(/is 300003 bytes now, not the 300000/);
  });

  it("fails verify when the consumer counted other bytes than were announced", async () => {
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL));
    const opened = await uiOpenModel(client(ui), "my_lora", listed(), {});
    await new Response(opened.body).arrayBuffer();
    const error = await failureOf(opened.verify(MODEL.length - 1));
    expect(error.message).toMatch(/announced 300000 bytes for my_lora but 299999 arrived/);
  });

  it("refuses a model the listing does not show, naming list_exported_models", async () => {
    const ui = new ScriptedUi();
    const error = await failureOf(uiOpenModel(client(ui), "nope", undefined, {}));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/lists no model named "nope": call list_exported_models/);
    expect(ui.calls).toHaveLength(0);
  });

  it("passes on a download the caller cancels, without resuming", async () => {
    const ui = new ScriptedUi().on(fileRoute(FINAL), fileServer(MODEL));
    const opened = await uiOpenModel(client(ui), "my_lora", listed(), {});
    const reader = opened.body.getReader();
    await reader.read();
    await reader.cancel(new Error("stop"));
    await expect(opened.verify(10_000)).rejects.toThrow("stop");
    expect(ui.calls).toHaveLength(1);
  });
});

describe("uiExportModel", () => {
  it("refuses, saying where the model is and that nothing was copied", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json({ jobs: [jobRow()] }))
      .on(`GET /api/jobs/${JOB_ID}/files`, json({ files: [{ path: FINAL, size: 120 }] }));
    const error = await failureOf(uiExportModel(client(ui), "my_lora", "/exports/x.safetensors"));
    expect(error.kind).toBe("tool");
    expect(error.message).toContain(`keeps my_lora in its job folder, at ${FINAL}`);
    expect(error.message).toContain("Nothing was copied to /exports/x.safetensors");
    expect(error.message).toMatch(/download_model/);
    const unknown = await failureOf(uiExportModel(client(ui), "other", "/exports/x.safetensors"));
    expect(unknown.message).toMatch(/lists no model named "other"/);
  });
});

describe("a model download that stops before its first byte", () => {
  it("resumes from byte 0 with a Range of 0 not sent", async () => {
    let first = true;
    const ui = new ScriptedUi().on(fileRoute(FINAL), (request) => {
      if (first) {
        first = false;
        return new Response(stallingBody(""), { headers: { "content-length": String(MODEL.length) } });
      }
      return fileServer(MODEL)(request);
    });
    const { received } = await download(ui, listed(), 300);
    expect(await sha(received)).toBe(await sha(MODEL));
    expect(ui.calls.map((call) => call.headers.get("range"))).toEqual([null, null]);
  });
});
