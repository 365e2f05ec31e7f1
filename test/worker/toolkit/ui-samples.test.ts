import { describe, expect, it } from "vitest";
import { UiClient } from "../../../src/toolkit/ui/client";
import { MAX_SAMPLES, uiSampleImage, uiSamples } from "../../../src/toolkit/ui/samples";
import { failureOf, hang, JOB_ID, jobRow, json, ScriptedUi, stallingBody } from "./ui-scripted";

const SAMPLES = "/ai-toolkit/output/my_lora/samples";
const client = (ui: ScriptedUi, timeoutMs = 2000) => new UiClient(ui, { token: "t", timeoutMs, gpuIds: "0" });

/** `<ms>__<step:09d>_<i>.<ext>`, as the trainer names them. */
const sample = (ms: number, step: number, index: number, ext = "jpg") =>
  `${SAMPLES}/${ms}__${String(step).padStart(9, "0")}_${index}.${ext}`;

const PATHS = [
  sample(1000, 0, 0),
  sample(1001, 0, 1),
  sample(2000, 500, 0),
  sample(2001, 500, 1),
  sample(3000, 1000, 0),
  sample(3001, 1000, 1, "mp4"),
  `${SAMPLES}/notes.jpg`,
];

const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 0xff, 0xd9]);

const config = JSON.stringify({
  job: "extension",
  config: {
    name: "my_lora",
    process: [{ type: "diffusion_trainer", sample: { samples: [{ prompt: "a cat" }, { prompt: "a dog" }] } }],
  },
});

async function sha(data: ArrayBuffer | Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

const imgRoute = (path: string) => `GET /api/img/${encodeURIComponent(path)}`;
const fileRoute = (path: string) => `GET /api/files/${encodeURIComponent(path)}`;

function ui(paths = PATHS): ScriptedUi {
  const scripted = new ScriptedUi()
    .on(`GET /api/jobs/${JOB_ID}/samples`, json({ samples: paths }))
    .on("GET /api/jobs", json(jobRow({ job_config: config })));
  for (const path of paths) {
    scripted.on(imgRoute(path), () =>
      path.endsWith(".mp4")
        ? new Response(new Uint8Array(1000), { headers: { "content-type": "video/mp4" } })
        : new Response(JPEG.slice(), { headers: { "content-type": "image/jpeg" } }),
    );
  }
  return scripted;
}

describe("uiSamples", () => {
  it("answers the newest samples, oldest first, with prompts and thumbnails, and every step", async () => {
    const scripted = ui();
    const set = await uiSamples(client(scripted), JOB_ID, { count: 3 });
    expect(set.job_id).toBe(JOB_ID);
    expect(set.steps).toEqual([0, 500, 1000]);
    expect(set.samples.map((s) => [s.step, s.index, s.prompt, s.path])).toEqual([
      [500, 1, "a dog", PATHS[3]],
      [1000, 0, "a cat", PATHS[4]],
      [1000, 1, "a dog", PATHS[5]],
    ]);
    expect(set.samples[0]?.thumbnail).toEqual({ bytes: JPEG, mimeType: "image/jpeg" });
    // A video's answer is the video, not a still: left without a thumbnail.
    expect(set.samples[2]?.thumbnail).toBeUndefined();
    const thumbCall = scripted.callsTo(imgRoute(PATHS[3]!))[0]!;
    expect(new URL(thumbCall.url).searchParams.get("thumb")).toBe("1");
    // The UI's own URLs need no token on the LAN: none may leave in an answer.
    expect(JSON.stringify(set)).not.toContain("/api/");
  });

  it("answers the samples of one step, and names the steps there are for one that has none", async () => {
    const set = await uiSamples(client(ui()), JOB_ID, { count: 1, step: 500 });
    expect(set.samples.map((s) => s.path)).toEqual([PATHS[2], PATHS[3]]);
    const error = await failureOf(uiSamples(client(ui()), JOB_ID, { count: 1, step: 700 }));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/no samples of step 700; it has samples of steps 0, 500, 1000/);
  });

  it(`never answers more than ${MAX_SAMPLES}`, async () => {
    const many = Array.from({ length: 30 }, (_, k) => sample(5000 + k, k * 10, 0));
    const set = await uiSamples(client(ui(many)), JOB_ID, { count: 100 });
    expect(set.samples).toHaveLength(MAX_SAMPLES);
    expect(set.samples.at(-1)?.step).toBe(290);
  });

  it("says so when the job has no samples yet, or is not a job", async () => {
    const none = await failureOf(uiSamples(client(ui([])), JOB_ID, { count: 4 }));
    expect(none.kind).toBe("tool");
    expect(none.message).toMatch(/has no samples yet/);
    const notId = await failureOf(uiSamples(client(ui()), "../../etc", { count: 4 }));
    expect(notId.kind).toBe("tool");
    expect(notId.message).toMatch(/is not a job id/);
  });

  it.each([
    ["a page that is not an image", () => new Response("<html></html>", { headers: { "content-type": "text/html" } })],
    [
      "a JPEG type over bytes that are not one",
      () => new Response("not a jpeg", { headers: { "content-type": "image/jpeg" } }),
    ],
    [
      "a thumbnail over 512 KB",
      () => new Response(new Uint8Array(600 * 1024), { headers: { "content-type": "image/jpeg" } }),
    ],
    ["a missing file", () => new Response("File not found", { status: 404 })],
    [
      "a thumbnail that stops mid-way",
      () => new Response(stallingBody("\xff"), { headers: { "content-type": "image/jpeg" } }),
    ],
    ["a failed connection", new TypeError("Network connection lost.")],
  ])("leaves the thumbnail out for %s, and still answers", async (_what, answer) => {
    const scripted = ui([sample(1000, 0, 0)]).on(imgRoute(sample(1000, 0, 0)), answer);
    const set = await uiSamples(client(scripted, 300), JOB_ID, { count: 1 });
    expect(set.samples).toHaveLength(1);
    expect(set.samples[0]?.thumbnail).toBeUndefined();
  });
});

describe("uiSamples' thumbnails", () => {
  it("share one deadline: twelve that hang hold the answer for one time-out, not one per round", async () => {
    const many = Array.from({ length: MAX_SAMPLES }, (_, k) => sample(5000 + k, k * 10, 0));
    const scripted = ui(many);
    for (const path of many) scripted.on(imgRoute(path), hang);
    const started = Date.now();
    const set = await uiSamples(client(scripted, 300), JOB_ID, { count: MAX_SAMPLES });
    // Four at a time (UI_FAN_OUT): a deadline per thumbnail would take three time-outs (900 ms).
    expect(Date.now() - started).toBeLessThan(650);
    expect(set.samples).toHaveLength(MAX_SAMPLES);
    expect(set.samples.every((s) => s.thumbnail === undefined)).toBe(true);
  });
});

describe("uiSampleImage", () => {
  it("finds a sample by its file name alone (as signed links name it)", async () => {
    const scripted = ui().on(fileRoute(PATHS[2]!), () => new Response("full image"));
    const response = await uiSampleImage(client(scripted), JOB_ID, "2000__000000500_0.jpg");
    expect(new TextDecoder().decode(await response.arrayBuffer())).toBe("full image");
  });

  it.each([
    ["a listed file that is no sample", "notes.jpg"],
    ["a name no sample has", "9999__000000500_0.jpg"],
    ["a climbing name", "..\\1000__000000000_0.jpg"],
  ])("refuses by file name %s", async (_what, name) => {
    const scripted = ui();
    const error = await failureOf(uiSampleImage(client(scripted), JOB_ID, name));
    expect(error.message).toMatch(/is not one of the samples of job/);
    expect(scripted.calls.some((call) => new URL(call.url).pathname.startsWith("/api/files/"))).toBe(false);
  });

  it("refuses a file name two listed samples share, rather than pick one", async () => {
    const twice = [sample(1000, 0, 0), sample(1000, 0, 0).replace("/samples/", "/samples/old/")];
    const error = await failureOf(uiSampleImage(client(ui(twice)), JOB_ID, "1000__000000000_0.jpg"));
    expect(error.message).toMatch(/is not one of the samples of job/);
  });

  it("streams one of the job's samples", async () => {
    const image = new Uint8Array(50_000).map((_, i) => i & 0xff);
    const scripted = ui().on(
      fileRoute(PATHS[2]!),
      () => new Response(image.slice(), { headers: { "content-length": String(image.length) } }),
    );
    const response = await uiSampleImage(client(scripted), JOB_ID, PATHS[2]!);
    expect(response.headers.get("content-type")).toBe("image/jpeg");
    expect(response.headers.get("content-length")).toBe("50000");
    const received = await response.arrayBuffer();
    expect(await sha(received)).toBe(await sha(image));
  });

  it.each([
    ["another file of the machine", "/etc/passwd"],
    ["a path that climbs out of the samples", `${SAMPLES}/../../../../etc/passwd`],
    ["another job's sample", "/ai-toolkit/output/other/samples/1000__000000000_0.jpg"],
    ["a listed file that is no sample", `${SAMPLES}/notes.jpg`],
  ])("refuses %s without fetching it", async (_what, path) => {
    const scripted = ui();
    const error = await failureOf(uiSampleImage(client(scripted), JOB_ID, path));
    expect(error.kind).toBe("tool");
    expect(error.message).toMatch(/is not one of the samples of job .*use one from that answer/);
    expect(scripted.calls.some((call) => new URL(call.url).pathname.startsWith("/api/files/"))).toBe(false);
  });

  it("fails the stream when the UI stops mid-image", async () => {
    const scripted = ui().on(
      fileRoute(PATHS[2]!),
      () => new Response(stallingBody("abc"), { headers: { "content-length": "1000" } }),
    );
    const response = await uiSampleImage(client(scripted, 300), JOB_ID, PATHS[2]!);
    const error = await failureOf(response.arrayBuffer());
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/sent nothing for 0.3 s/);
  });
});
