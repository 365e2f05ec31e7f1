import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readConfig } from "../../src/config";
import { downloadLink } from "../../src/models/links";
import { sampleLinks } from "../../src/samples/links";
import { serveSample } from "../../src/samples/route";
import { BridgeUpstream } from "../../src/toolkit/bridge/upstream";
import { ToolkitClient } from "../../src/toolkit/bridge/client";
import { ScriptedToolkit } from "./helpers/scripted-toolkit";
import { FILES, FULL, fileRoute, ORIGIN, OTHER_JOB, PATHS, sampleUi } from "./samples-support";
import { hang, JOB_ID, type ScriptedUi } from "./toolkit/ui-scripted";
import { upstreamOn } from "./toolkit/ui-upstream-helpers";

const config = readConfig(env);

/** A signed link as get_training_samples makes it. */
async function linkTo(file: string, options: { jobId?: string; now?: number; ttl?: number } = {}) {
  const settings = { ...config, DOWNLOAD_LINK_TTL_SECONDS: options.ttl ?? 600 };
  const [link] = await sampleLinks(settings, env, ORIGIN, options.jobId ?? JOB_ID, [file], options.now ?? Date.now());
  return new URL(link!.url);
}

async function serve(url: URL | string, ui: ScriptedUi = sampleUi(), init: RequestInit = {}) {
  return serveSample(new Request(url, init), env, () => upstreamOn(ui, { timeoutMs: 500 }));
}

const fileCalls = (ui: ScriptedUi) => ui.calls.filter((call) => new URL(call.url).pathname.startsWith("/api/files/"));

describe("GET /samples/<job>/<file>", () => {
  it("streams the sample as the type its name promises, inline, unsniffable, cached no longer than the link", async () => {
    const ui = sampleUi();
    const response = await serve(await linkTo(FILES[1]!), ui);
    expect(response.status).toBe(200);
    // The UI said application/octet-stream and attachment: the route sets its own type and disposition.
    expect(response.headers.get("Content-Type")).toBe("image/jpeg");
    expect(response.headers.get("Content-Disposition")).toBe(`inline; filename="${FILES[1]}"`);
    expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(response.headers.get("Content-Length")).toBe(String(FULL.length));
    const maxAge = Number(/^private, max-age=(\d+)$/.exec(response.headers.get("Cache-Control") ?? "")?.[1]);
    expect(maxAge).toBeGreaterThan(590);
    expect(maxAge).toBeLessThanOrEqual(600);
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(FULL);
    expect(fileCalls(ui).map((call) => decodeURIComponent(new URL(call.url).pathname))).toEqual([
      `/api/files/${PATHS[1]}`,
    ]);
  });

  it("serves a video sample as video/mp4, and HEAD without a body", async () => {
    const url = await linkTo(FILES[3]!);
    const response = await serve(url);
    expect(response.headers.get("Content-Type")).toBe("video/mp4");
    await response.body?.cancel();
    const head = await serve(url, sampleUi(), { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(FULL.length));
    expect(head.body).toBeNull();
  });

  it("refuses a tampered signature, another file, another job and an expired link, asking the toolkit nothing", async () => {
    const url = await linkTo(FILES[1]!);
    const sig = url.searchParams.get("sig")!;
    const tampered = new URL(url);
    tampered.searchParams.set("sig", `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`);
    const otherFile = new URL(url);
    otherFile.pathname = `/samples/${JOB_ID}/${FILES[0]}`;
    const otherJob = new URL(url);
    otherJob.pathname = `/samples/${OTHER_JOB}/${FILES[1]}`;
    const later = new URL(url);
    later.searchParams.set("expires", String(Number(url.searchParams.get("expires")) + 3600));
    const expired = await linkTo(FILES[1]!, { now: Date.now() - 3_600_000 });
    for (const [link, message] of [
      [tampered, /signature is not valid/],
      [otherFile, /signature is not valid/],
      [otherJob, /signature is not valid/],
      [later, /signature is not valid/],
      [expired, /expired at .*call get_training_samples again/],
    ] as const) {
      const ui = sampleUi();
      const response = await serve(link, ui);
      expect(response.status, link.href).toBe(403);
      expect(await response.text()).toMatch(message);
      expect(ui.calls, link.href).toHaveLength(0);
    }
  });

  it.each([
    ["a climbing file name", `/samples/${JOB_ID}/..%2F..%2F..%2Fetc%2Fpasswd`],
    ["a dot-dot name", `/samples/${JOB_ID}/%2E%2E`],
    ["a backslash", `/samples/${JOB_ID}/..%5C${FILES[1]}`],
    ["a folder", `/samples/${JOB_ID}/sub/${FILES[1]}`],
    ["a job id that is no job id", `/samples/..%2F${JOB_ID}/${FILES[1]}`],
    ["a type the route does not serve", `/samples/${JOB_ID}/1000__000000000_0.html`],
    ["no file", `/samples/${JOB_ID}/`],
    ["a broken escape", `/samples/${JOB_ID}/%E0%A4%A`],
  ])("refuses %s, asking the toolkit nothing", async (_what, path) => {
    const ui = sampleUi();
    const response = await serve(
      `${ORIGIN}${path}?expires=${Math.floor(Date.now() / 1000) + 600}&sig=${"0".repeat(64)}`,
      ui,
    );
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/incomplete or was altered/);
    expect(ui.calls).toHaveLength(0);
  });

  it("a link signed for a name the toolkit does not list opens nothing (404, the toolkit's reason)", async () => {
    const ui = sampleUi();
    const response = await serve(await linkTo("9999__000000500_0.jpg"), ui);
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/is not one of the samples of job/);
    expect(fileCalls(ui)).toHaveLength(0);
  });

  it("a model download link's signature opens no sample", async () => {
    const key = `models/my_lora/x/${FILES[1]}`;
    const link = await downloadLink(
      config,
      env,
      ORIGIN,
      { key, expiresAt: new Date(Date.now() + 600_000).toISOString() },
      Date.now(),
    );
    const download = new URL(link.url);
    const url = new URL(`${ORIGIN}/samples/${JOB_ID}/${FILES[1]}${download.search}`);
    expect((await serve(url)).status).toBe(403);
  });

  it("says the toolkit timed out (504) when it does not answer", async () => {
    const ui = sampleUi().on(fileRoute(PATHS[1]!), hang);
    const response = await serve(await linkTo(FILES[1]!), ui);
    expect(response.status).toBe(504);
    expect(await response.text()).toMatch(/0\.5 s/);
  });

  it("on the bridge, says it cannot hand out samples", async () => {
    const bridge = new BridgeUpstream(new ToolkitClient(new ScriptedToolkit(), 500));
    const response = await serveSample(new Request(await linkTo(FILES[1]!)), env, () => bridge);
    expect(response.status).toBe(404);
    expect(await response.text()).toMatch(/cannot hand out sample images/);
  });

  it("is wired into the Worker without OAuth, checking the link first", async () => {
    const url = await linkTo(FILES[1]!);
    url.searchParams.set("sig", "0".repeat(64));
    const response = await SELF.fetch(url.href.replace(ORIGIN, "https://example.com"));
    expect(response.status).toBe(403);
    expect(await response.text()).toMatch(/sample link's signature is not valid/);
  });
});
