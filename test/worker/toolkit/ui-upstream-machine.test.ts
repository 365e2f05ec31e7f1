import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../../src/config";
import { uiUpstream, UiUpstream } from "../../../src/toolkit/ui/upstream";
import { failureOf, hang, JOB_ID, jobRow, json, ScriptedUi } from "./ui-scripted";
import { TOKEN, upstreamOn } from "./ui-upstream-helpers";

const unauthorized = json({ error: "Unauthorized" }, 401);

describe("health", () => {
  it("is ok when the UI accepts the token, with the latency", async () => {
    const ui = new ScriptedUi().on("GET /api/auth", json({ isAuthenticated: true }));
    const health = await upstreamOn(ui).health();
    expect(health).toMatchObject({ ok: true, server: "ai-toolkit UI" });
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect(ui.calls[0]?.headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
  });

  it("names AI_TOOLKIT_AUTH when the token is wrong, without echoing it", async () => {
    const health = await upstreamOn(new ScriptedUi().on("GET /api/auth", unauthorized)).health();
    expect(health).toMatchObject({ ok: false, failure: { kind: "http", status: 401 } });
    expect(health.error).toMatch(/refused the token in AI_TOOLKIT_AUTH/);
    expect(health.error).not.toContain(TOKEN);
  });

  it("names AI_TOOLKIT_AUTH when the UI wants a token and none is set", async () => {
    const health = await upstreamOn(new ScriptedUi().on("GET /api/auth", unauthorized), { token: "" }).health();
    expect(health.ok).toBe(false);
    expect(health.error).toMatch(/requires a token .*Set AI_TOOLKIT_AUTH/);
  });

  it("reports a UI that never answers within the time-out, without throwing", async () => {
    const started = Date.now();
    const health = await upstreamOn(new ScriptedUi().on("GET /api/auth", hang), { timeoutMs: 300 }).health();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(health).toMatchObject({ ok: false, failure: { kind: "timeout" } });
    expect(health.error).toMatch(/did not answer GET \/api\/auth within 0\.3 s/);
  });

  it("says when the original bridge answers instead", async () => {
    const ui = new ScriptedUi().on("GET /api/auth", json({ detail: "Not Found" }, 404));
    const health = await upstreamOn(ui).health();
    expect(health).toMatchObject({ ok: false, failure: { kind: "protocol" } });
    expect(health.error).toMatch(/original bridge on port 8012/);
  });
});

describe("a UI that never answers", () => {
  it("fails a call with a time-out error after the configured time-out (once retried, as reads are)", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", hang);
    const started = Date.now();
    const error = await failureOf(upstreamOn(ui, { timeoutMs: 300 }).listRuns());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/did not answer GET \/api\/jobs within 0\.3 s/);
  });

  it("does not retry a start, so it fails within one time-out", async () => {
    const ui = new ScriptedUi()
      .on("GET /api/jobs", json({ jobs: [jobRow()] }))
      .on(`GET /api/jobs/${JOB_ID}/start`, hang);
    const started = Date.now();
    const error = await failureOf(upstreamOn(ui, { timeoutMs: 300 }).startRun("my_lora"));
    expect(Date.now() - started).toBeLessThan(1000);
    expect(error.kind).toBe("timeout");
    expect(ui.callsTo(`GET /api/jobs/${JOB_ID}/start`)).toHaveLength(1);
  });
});

const GPU = {
  hasNvidiaSmi: true,
  isMac: false,
  gpus: [
    {
      index: 0,
      name: "NVIDIA GeForce RTX 4090",
      driverVersion: "550.54",
      temperature: 61,
      utilization: { gpu: 98, memory: 40 },
      memory: { total: 24564, free: 4084, used: 20480 },
      power: { draw: 420.5, limit: 450 },
    },
    {
      index: 1,
      name: "NVIDIA RTX A4000",
      driverVersion: "550.54",
      temperature: null,
      utilization: { gpu: 0, memory: 0 },
      memory: { total: 16376, free: 16000, used: 376 },
      power: { draw: null, limit: 140 },
    },
  ],
};
const CPU = {
  name: "AMD Ryzen 9",
  cores: 16,
  temperature: 55,
  totalMemory: 65536,
  freeMemory: 8192,
  availableMemory: 32768,
  currentLoad: 12.345,
};

describe("systemStats", () => {
  it("reports every GPU and the CPU and memory, with the bridge's keys", async () => {
    const ui = new ScriptedUi().on("GET /api/gpu", json(GPU)).on("GET /api/cpu", json(CPU));
    const stats = await upstreamOn(ui).systemStats();
    expect(stats).toMatchObject({
      cpu_percent: 12.3,
      memory_percent: 50,
      cpu: { name: "AMD Ryzen 9", cores: 16 },
      memory: { total_mib: 65536, available_mib: 32768 },
      gpu: { cuda_available: true, device_name: "NVIDIA GeForce RTX 4090", device_count: 2, memory_allocated: 20 },
    });
    expect(stats.gpus).toEqual([
      expect.objectContaining({ index: 0, memory_total_mib: 24564, memory_used_mib: 20480, memory_free_mib: 4084 }),
      expect.objectContaining({ index: 1, name: "NVIDIA RTX A4000", temperature_c: null, power_limit_w: 140 }),
    ]);
    expect(stats).not.toHaveProperty("gpu_note");
  });

  it("says plainly when the UI's machine has no nvidia-smi", async () => {
    const noSmi = { hasNvidiaSmi: false, isMac: false, gpus: [], error: "nvidia-smi not found or not accessible" };
    const ui = new ScriptedUi().on("GET /api/gpu", json(noSmi)).on("GET /api/cpu", json(CPU));
    const stats = await upstreamOn(ui).systemStats();
    expect(stats.gpu).toEqual({ cuda_available: false });
    expect(stats.gpu_note).toMatch(/found no nvidia-smi on its machine.*not found or not accessible/);
  });

  it("still reports the CPU when the GPU read fails, and throws only when both do", async () => {
    const half = new ScriptedUi().on("GET /api/gpu", json({ error: "boom" }, 500)).on("GET /api/cpu", json(CPU));
    const stats = await upstreamOn(half).systemStats();
    expect(stats).toMatchObject({ cpu_percent: 12.3, gpu: { cuda_available: false } });
    expect(stats.gpu_note).toMatch(/did not report its GPUs: .*boom/);
    const none = new ScriptedUi().on("GET /api/gpu", unauthorized).on("GET /api/cpu", unauthorized);
    expect((await failureOf(upstreamOn(none).systemStats())).message).toMatch(/AI_TOOLKIT_AUTH/);
  });
});

describe("trainingInfo", () => {
  it("counts jobs by status, datasets, and completed jobs as models", async () => {
    const row = (letter: string, name: string, overrides: Parameters<typeof jobRow>[0]) =>
      jobRow({ id: `${letter.repeat(8)}-5b7d-4e2a-9c1f-0a1b2c3d4e5f`, name, ...overrides });
    const jobs = [
      row("a", "r", { status: "running" }),
      row("b", "q", { status: "queued" }),
      row("c", "c1", { status: "completed" }),
      row("d", "c2", { status: "completed" }),
      row("e", "cap", { status: "completed", job_type: "caption" }),
    ];
    const ui = new ScriptedUi().on("GET /api/jobs", json({ jobs })).on("GET /api/datasets/list", json(["x", "y"]));
    await expect(upstreamOn(ui).trainingInfo()).resolves.toEqual({
      total_jobs: 4,
      active_jobs: 2,
      queued_jobs: 1,
      configs: 4,
      datasets: 2,
      models: 2,
      jobs_by_status: { running: 1, queued: 1, completed: 2 },
    });
  });
});

describe("uiUpstream", () => {
  afterEach(() => vi.restoreAllMocks());

  it("is built from the settings: transport, token, time-out and GPU ids", async () => {
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ isAuthenticated: true }));
    const config = readConfig({
      AI_TOOLKIT_API: "ui",
      AI_TOOLKIT_HOST: "127.0.0.1",
      AI_TOOLKIT_AUTH: TOKEN,
      AI_TOOLKIT_GPU_IDS: "1",
      TOOLKIT_TIMEOUT_MS: "4321",
    });
    const upstream = uiUpstream(config, {});
    expect(upstream).toBeInstanceOf(UiUpstream);
    expect(upstream).toMatchObject({ kind: "ui", timeoutMs: 4321, transport: { kind: "direct" } });
    expect(upstream.client.gpuIds).toBe("1");
    await expect(upstream.health()).resolves.toMatchObject({ ok: true });
    const [url, init] = spy.mock.calls[0] ?? [];
    expect(url).toBe("http://127.0.0.1:8675/api/auth");
    expect(new Headers(init?.headers).get("Authorization")).toBe(`Bearer ${TOKEN}`);
  });
});
