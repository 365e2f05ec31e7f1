import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../../src/config";
import { selectTransport } from "../../../src/toolkit/transport";
import { UiClient } from "../../../src/toolkit/ui/client";
import { failureOf, hang, JOB_ID, jobRow, json, ScriptedUi, stallingBody } from "./ui-scripted";

const TOKEN = "ui-t0ken-do-not-leak";
/** `token` "" : the UI runs without one. */
const client = (ui: ScriptedUi, token = TOKEN, timeoutMs = 1000) => new UiClient(ui, { token, timeoutMs, gpuIds: "0" });

describe("headers", () => {
  afterEach(() => vi.restoreAllMocks());

  it("sends the Bearer token beside the Access service token on the Access transport", async () => {
    const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ jobs: [] }));
    const config = readConfig({
      AI_TOOLKIT_URL: "https://ui.example.com",
      CF_ACCESS_CLIENT_ID: "id.access",
      CF_ACCESS_CLIENT_SECRET: "s3cret",
    });
    const ui = new UiClient(selectTransport(config, undefined), { token: TOKEN, timeoutMs: 1000, gpuIds: "0" });
    await expect(ui.jobs()).resolves.toEqual([]);
    const [url, init] = spy.mock.calls[0] ?? [];
    const headers = new Headers(init?.headers);
    expect(url).toBe("https://ui.example.com/api/jobs");
    expect(headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
    expect(headers.get("CF-Access-Client-Id")).toBe("id.access");
    expect(headers.get("CF-Access-Client-Secret")).toBe("s3cret");
  });

  it("sends no Authorization header when the UI runs without a token", async () => {
    const ui = new ScriptedUi().on("GET /api/queue", json({ queues: [] }));
    await client(ui, "").queues();
    expect(ui.calls[0]?.headers.get("Authorization")).toBeNull();
  });

  it("sends the token on file downloads too (harmless: the UI does not ask)", async () => {
    const ui = new ScriptedUi().on("GET /api/files/%2Ftraining%2Fa.txt", () => new Response("x"));
    await (await client(ui).fileDownload("/training/a.txt")).body.cancel();
    expect(ui.calls[0]?.headers.get("Authorization")).toBe(`Bearer ${TOKEN}`);
  });
});

describe("refusals and wrong targets", () => {
  const unauthorized = json({ error: "Unauthorized" }, 401);

  it("asks for AI_TOOLKIT_AUTH when the UI wants a token and none is set", async () => {
    const error = await failureOf(client(new ScriptedUi().on("GET /api/jobs", unauthorized), "").jobs());
    expect(error).toMatchObject({ kind: "http", status: 401, hop: "toolkit" });
    expect(error.message).toMatch(/requires a token .*Set AI_TOOLKIT_AUTH to the token the UI was started with/);
  });

  it("says the token in AI_TOOLKIT_AUTH is wrong, without echoing it", async () => {
    const error = await failureOf(client(new ScriptedUi().on("GET /api/jobs", unauthorized)).jobs());
    expect(error.message).toMatch(/refused the token in AI_TOOLKIT_AUTH .*the token in AI_TOOLKIT_AUTH is wrong/);
    expect(error.message).not.toContain(TOKEN);
  });

  it.each([
    [() => new Response("<html>Forbidden</html>", { status: 403 }), "http", "access", /check CF_ACCESS_CLIENT_ID/],
    [
      () => new Response('<a href="https://x.cloudflareaccess.com/cdn-cgi/access/login">Sign in</a>'),
      "protocol",
      "access",
      /Cloudflare Access answered GET \/api\/jobs with its login page/,
    ],
    [() => new Response("error code: 1033", { status: 530 }), "unreachable", "tunnel", /cloudflared is not connected/],
    [
      () => new Response("UI server unavailable", { status: 502 }),
      "unreachable",
      "toolkit",
      /its Next\.js server is not/,
    ],
    [() => new Response("", { status: 502 }), "unreachable", "toolkit", /is ai-toolkit's UI running on port 8675/],
    [
      () => Response.json({ detail: "Not Found" }, { status: 404 }),
      "protocol",
      "toolkit",
      /original bridge on port 8012 .*point AI_TOOLKIT_HOST\/AI_TOOLKIT_PORT at the UI/i,
    ],
    [
      () => new Response("<html>hello</html>", { headers: { "content-type": "text/html" } }),
      "protocol",
      "toolkit",
      /not JSON \(text\/html.*probably not ai-toolkit's UI: point AI_TOOLKIT_HOST\/AI_TOOLKIT_PORT at the UI/,
    ],
    [
      () => Response.json({ jobs: [{ id: 1 }] }),
      "protocol",
      "toolkit",
      /unexpected shape \(jobs\.0\.id: .*probably not ai-toolkit's UI/,
    ],
    [
      () => Response.json({ error: "Failed to fetch training data" }, { status: 500 }),
      "tool",
      "toolkit",
      /could not list its jobs: Failed to fetch training data \(HTTP 500\)/,
    ],
  ] as const)("maps a bad answer to a clear error (%#)", async (answer, kind, hop, message) => {
    const error = await failureOf(client(new ScriptedUi().on("GET /api/jobs", answer)).jobs());
    expect(error).toMatchObject({ kind, hop });
    expect(error.message).toMatch(message);
  });

  it("names the setting that points at the target, by transport", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(async () => Response.json({ hello: "world" }));
    const transport = selectTransport(readConfig({ AI_TOOLKIT_URL: "https://ui.example.com" }), undefined);
    const error = await failureOf(new UiClient(transport, { timeoutMs: 1000, gpuIds: "0" }).jobs());
    expect(error.message).toMatch(/point AI_TOOLKIT_URL at the UI \(port 8675\)/);
    vi.restoreAllMocks();
  });
});

describe("retries and timeouts", () => {
  it("retries a read once after a dropped connection", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", new TypeError("connection reset"), json({ jobs: [jobRow()] }));
    await expect(client(ui).jobs()).resolves.toHaveLength(1);
    expect(ui.calls).toHaveLength(2);
  });

  it("never retries a call that changes something", async () => {
    const ui = new ScriptedUi().on(
      "GET /api/jobs/" + JOB_ID + "/stop",
      new TypeError("connection reset"),
      json(jobRow()),
    );
    const error = await failureOf(client(ui).stop(JOB_ID));
    expect(error.kind).toBe("unreachable");
    expect(ui.calls).toHaveLength(1);
  });

  it("times out when no headers come", async () => {
    const ui = new ScriptedUi().on("GET /api/gpu", hang);
    const error = await failureOf(client(ui, TOKEN, 50).gpu({ retry: false }));
    expect(error).toMatchObject({ kind: "timeout", hop: "reach" });
    expect(error.message).toMatch(/did not answer GET \/api\/gpu within 0\.1 s/);
  });

  it("times out when the body stalls after the headers, and names the hop", async () => {
    const ui = new ScriptedUi().on(
      "GET /api/cpu",
      () => new Response(stallingBody('{"name":'), { headers: { "content-type": "application/json" } }),
    );
    const error = await failureOf(client(ui, TOKEN, 50).cpu());
    expect(error).toMatchObject({ kind: "timeout", hop: "toolkit" });
    expect(error.message).toMatch(
      /began answering GET \/api\/cpu but then sent nothing for 0\.1 s .*stalled after the headers/,
    );
    expect(ui.calls).toHaveLength(2); // a read: retried once
  });
});

describe("jobs", () => {
  it("reads one job by id, and null when the UI has none", async () => {
    const ui = new ScriptedUi().on("GET /api/jobs", json(jobRow()), json(null));
    await expect(client(ui).job(JOB_ID)).resolves.toMatchObject({ id: JOB_ID, name: "my_lora" });
    await expect(client(ui).job(JOB_ID)).resolves.toBeNull();
    expect(new URL(ui.calls[0]?.url ?? "").search).toBe(`?id=${JOB_ID}`);
  });

  it("refuses an id that is not a uuid before sending anything", async () => {
    const ui = new ScriptedUi();
    await expect(client(ui).stop("../../settings")).rejects.toThrow(RangeError);
    await expect(client(ui).log("x%2F..", 0)).rejects.toThrow(/job id of ai-toolkit's UI is a uuid/);
    expect(ui.calls).toHaveLength(0);
  });

  it("creates a job on the configured GPU and explains a duplicate name", async () => {
    const ui = new ScriptedUi().on("POST /api/jobs", json(jobRow()), json({ error: "Job name already exists" }, 409));
    const jobConfig = { job: "extension", config: { name: "my_lora", process: [] } };
    await client(ui).saveJob({ name: "my_lora", jobConfig });
    expect(await ui.calls[0]?.json()).toEqual({ name: "my_lora", gpu_ids: "0", job_config: jobConfig });
    const error = await failureOf(client(ui).saveJob({ name: "my_lora", jobConfig }));
    expect(error).toMatchObject({ kind: "tool", status: 409 });
    expect(error.message).toBe(
      "ai-toolkit's UI already has a job named my_lora: choose another name, or update that job by its id",
    );
  });

  it("refuses a job name that would leave TRAINING_FOLDER, or a config named otherwise", async () => {
    const ui = new ScriptedUi();
    await expect(client(ui).saveJob({ name: "..", jobConfig: {} })).rejects.toThrow(/job name/);
    await expect(client(ui).saveJob({ name: "a", jobConfig: { config: { name: "b" } } })).rejects.toThrow(
      /config\.name .* must equal the job name/,
    );
    expect(ui.calls).toHaveLength(0);
  });

  it("starts with both calls, then reads the row again for its place in the queue", async () => {
    const other = jobRow({
      id: "00000000-0000-4000-8000-000000000001",
      name: "ahead",
      status: "queued",
      queue_position: 2000,
    });
    const running = jobRow({ id: "00000000-0000-4000-8000-000000000002", name: "busy", status: "running" });
    const ui = new ScriptedUi()
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow({ status: "stopped" })))
      .on("GET /api/queue/0/start", json({ id: 1, gpu_ids: "0", is_running: false }))
      .on(
        "GET /api/jobs",
        json({ jobs: [other, running, jobRow({ status: "queued", queue_position: 3000, info: "Job queued" })] }),
      );
    const result = await client(ui).start(JOB_ID);
    expect(ui.calls.map((call) => new URL(call.url).pathname)).toEqual([
      `/api/jobs/${JOB_ID}/start`,
      "/api/queue/0/start",
      "/api/jobs",
    ]);
    expect(result.before.status).toBe("stopped");
    expect(result.job?.status).toBe("queued");
    expect(result.place).toEqual({ position: 2, queued: 2, runningJob: "busy" });
  });

  it("says the job is queued when the queue could not be started", async () => {
    const ui = new ScriptedUi()
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow()))
      .on("GET /api/queue/0/start", () => new Response("oops", { status: 500 }));
    const error = await failureOf(client(ui).start(JOB_ID));
    expect(error.message).toMatch(/^job my_lora is queued, but .*HTTP 500.*Start it again/);
    expect(ui.calls).toHaveLength(2);
  });

  it("reports a start that worked even when reading the row back failed", async () => {
    const ui = new ScriptedUi()
      .on(`GET /api/jobs/${JOB_ID}/start`, json(jobRow()))
      .on("GET /api/queue/0/start", json({ id: 1, gpu_ids: "0", is_running: true }))
      .on("GET /api/jobs", new TypeError("connection reset"));
    const result = await client(ui).start(JOB_ID);
    expect(result).toMatchObject({
      job: null,
      place: null,
      readFailure: expect.stringMatching(/could not be reached/),
    });
  });

  it("explains a job the UI does not have", async () => {
    const ui = new ScriptedUi().on(`GET /api/jobs/${JOB_ID}/delete`, json({ error: "Job not found" }, 404));
    const error = await failureOf(client(ui).delete(JOB_ID));
    expect(error).toMatchObject({ kind: "tool", status: 404 });
    expect(error.message).toMatch(/has no job with id .*list the jobs again/);
  });

  it("reads the log by offset and the loss by key", async () => {
    const ui = new ScriptedUi()
      .on(`GET /api/jobs/${JOB_ID}/log`, json({ log: "step 1\n", offset: 7, reset: false }))
      .on(
        `GET /api/jobs/${JOB_ID}/loss`,
        json({
          key: "loss/loss",
          keys: ["learning_rate", "loss/loss"],
          points: [{ step: 5, wall_time: 1.5, value: 0.3 }],
        }),
      );
    await expect(client(ui).log(JOB_ID, 3)).resolves.toEqual({ log: "step 1\n", offset: 7, reset: false });
    await client(ui).loss(JOB_ID, { key: "loss/loss", sinceStep: 4, limit: 100, stride: 5 });
    await expect(client(ui).lossKeys(JOB_ID)).resolves.toEqual(["learning_rate", "loss/loss"]);
    const searches = ui.calls.map((call) => new URL(call.url).searchParams);
    expect(searches[0]?.get("offset")).toBe("3");
    expect(Object.fromEntries(searches[1] ?? [])).toEqual({
      key: "loss/loss",
      since_step: "4",
      limit: "100",
      stride: "5",
    });
    expect(searches[2]?.get("limit")).toBe("0");
  });
});

describe("datasets", () => {
  it("creates, lists and deletes, refusing names that leave DATASETS_FOLDER", async () => {
    const ui = new ScriptedUi()
      .on("POST /api/datasets/create", json({ success: true, name: "my_set_" }))
      .on("GET /api/datasets/list", json(["my_set_"]))
      .on("POST /api/datasets/delete", json({ success: true }));
    await expect(client(ui).createDataset("My Set!")).resolves.toBe("my_set_");
    await expect(client(ui).datasets()).resolves.toEqual(["my_set_"]);
    await client(ui).deleteDataset("my_set_");
    await expect(client(ui).deleteDataset("..")).rejects.toThrow(RangeError);
    await expect(client(ui).datasetImages("a/b")).rejects.toThrow(RangeError);
    expect(ui.calls).toHaveLength(3);
  });
});

describe("folders", () => {
  const HF = "hf_SuperSecretTokenValue123";
  const settings = {
    HF_TOKEN: HF,
    TRAINING_FOLDER: "/ai-toolkit/output",
    DATASETS_FOLDER: "/ai-toolkit/datasets",
    DATA_ROOT: "/ai-toolkit/data",
    MODELS_PATH: "/models",
    OTHER: "x",
  };

  it("returns the four folders and nothing of the HF token", async () => {
    const folders = await client(new ScriptedUi().on("GET /api/settings", json(settings))).folders();
    expect(folders).toEqual({
      TRAINING_FOLDER: "/ai-toolkit/output",
      DATASETS_FOLDER: "/ai-toolkit/datasets",
      DATA_ROOT: "/ai-toolkit/data",
      MODELS_PATH: "/models",
    });
    expect(JSON.stringify(folders)).not.toContain(HF);
    expect(Object.keys(folders)).not.toContain("HF_TOKEN");
  });

  it("never quotes the settings answer in an error", async () => {
    const truncated = JSON.stringify(settings).slice(0, 60);
    const answers = [
      () => new Response(truncated, { headers: { "content-type": "application/json" } }),
      () => new Response(truncated, { status: 500 }),
      () => Response.json({ error: `bad ${HF}` }, { status: 500 }),
      () => Response.json({ ...settings, TRAINING_FOLDER: 5 }),
    ];
    for (const answer of answers) {
      const error = await failureOf(client(new ScriptedUi().on("GET /api/settings", answer)).folders());
      expect(error.message).not.toContain("hf_");
    }
  });
});
