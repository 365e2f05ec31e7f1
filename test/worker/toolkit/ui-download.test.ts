import { describe, expect, it } from "vitest";
import { UiClient } from "../../../src/toolkit/ui/client";
import { failureOf, ScriptedUi, stallingBody } from "./ui-scripted";

const PATH = "/ai-toolkit/output/my_lora/my_lora_000000500.safetensors";
const ROUTE = `GET /api/files/${encodeURIComponent(PATH)}`;
const FILE = "0123456789abcdefghij"; // 20 bytes

/** The UI's front server (ui/cron/fileServer.ts): 200, 206 for `bytes=N-`, 416 past the end. */
function fileServer(request: Request): Response {
  const range = request.headers.get("range");
  const common = { "content-type": "application/octet-stream", "accept-ranges": "bytes" };
  if (!range) return new Response(FILE, { headers: { ...common, "content-length": String(FILE.length) } });
  const start = Number(/^bytes=(\d+)-$/.exec(range)?.[1]);
  if (start >= FILE.length)
    return new Response(null, { status: 416, headers: { "content-range": `bytes */${FILE.length}` } });
  return new Response(FILE.slice(start), {
    status: 206,
    headers: {
      ...common,
      "content-range": `bytes ${start}-${FILE.length - 1}/${FILE.length}`,
      "content-length": String(FILE.length - start),
    },
  });
}

const client = (ui: ScriptedUi, timeoutMs = 1000) => new UiClient(ui, { token: "t", timeoutMs, gpuIds: "0" });

describe("fileDownload", () => {
  it("downloads a whole file, with its size, the path encoded as one segment", async () => {
    const ui = new ScriptedUi().on(ROUTE, fileServer);
    const download = await client(ui).fileDownload(PATH);
    expect(download).toMatchObject({ start: 0, length: 20, size: 20, restarted: false });
    expect(await new Response(download.body).text()).toBe(FILE);
    expect(ui.calls[0]?.headers.get("range")).toBeNull();
    expect(new URL(ui.calls[0]?.url ?? "").pathname).toBe(
      `/api/files/%2Fai-toolkit%2Foutput%2Fmy_lora%2Fmy_lora_000000500.safetensors`,
    );
  });

  it("resumes with Range and checks the 206 starts where asked", async () => {
    const ui = new ScriptedUi().on(ROUTE, fileServer);
    const download = await client(ui).fileDownload(PATH, { rangeStart: 15 });
    expect(ui.calls[0]?.headers.get("range")).toBe("bytes=15-");
    expect(download).toMatchObject({ start: 15, length: 5, size: 20, restarted: false });
    expect(await new Response(download.body).text()).toBe("fghij");
  });

  it("refuses a part that starts elsewhere", async () => {
    const ui = new ScriptedUi().on(
      ROUTE,
      () => new Response("abc", { status: 206, headers: { "content-range": "bytes 0-2/20" } }),
    );
    const error = await failureOf(client(ui).fileDownload(PATH, { rangeStart: 15 }));
    expect(error.kind).toBe("protocol");
    expect(error.message).toMatch(/does not start there/);
  });

  it("refuses a server that ignores Range, unless told to restart from 0", async () => {
    const ignoring = new ScriptedUi().on(ROUTE, () => new Response(FILE, { headers: { "content-length": "20" } }));
    const error = await failureOf(client(ignoring).fileDownload(PATH, { rangeStart: 15 }));
    expect(error.message).toMatch(/ignored the Range header .*HTTP 200 instead of 206/);
    const restarted = await client(ignoring).fileDownload(PATH, { rangeStart: 15, ignoredRange: "restart" });
    expect(restarted).toMatchObject({ start: 0, length: 20, size: 20, restarted: true });
    expect(await new Response(restarted.body).text()).toBe(FILE);
  });

  it("treats a resume at the very end as nothing left, and past it as a changed file", async () => {
    const ui = new ScriptedUi().on(ROUTE, fileServer);
    const done = await client(ui).fileDownload(PATH, { rangeStart: 20 });
    expect(done).toMatchObject({ start: 20, length: 0, size: 20 });
    expect(await new Response(done.body).text()).toBe("");
    const error = await failureOf(client(ui).fileDownload(PATH, { rangeStart: 25 }));
    expect(error).toMatchObject({ kind: "tool", status: 416 });
    expect(error.message).toMatch(/the file has 20 bytes now/);
  });

  it.each([
    [403, "Access denied", /serves only files under its DATASETS_FOLDER and TRAINING_FOLDER/],
    [404, "File not found", /has no file at .*list the job's files again/],
  ])("explains the file server's own %i", async (status, text, message) => {
    const error = await failureOf(
      client(new ScriptedUi().on(ROUTE, () => new Response(text, { status }))).fileDownload(PATH),
    );
    expect(error).toMatchObject({ kind: "tool", status });
    expect(error.message).toMatch(message);
  });

  it("never streams Access's login page as the file", async () => {
    const login = () =>
      new Response('<a href="https://x.cloudflareaccess.com/cdn-cgi/access/login">Sign in</a>', {
        headers: { "content-type": "text/html" },
      });
    const error = await failureOf(client(new ScriptedUi().on(ROUTE, login)).fileDownload(PATH));
    expect(error).toMatchObject({ kind: "protocol", hop: "access" });
  });

  it("refuses relative paths and '..' before sending anything", async () => {
    const ui = new ScriptedUi();
    await expect(client(ui).fileDownload("output/x.safetensors")).rejects.toThrow(/absolute/);
    await expect(client(ui).fileDownload("/ai-toolkit/output/../../etc/passwd")).rejects.toThrow(/'\.\.'/);
    expect(ui.calls).toHaveLength(0);
  });

  it("fails a body that stalls, saying where to resume", async () => {
    const ui = new ScriptedUi().on(
      ROUTE,
      () => new Response(stallingBody("0123"), { headers: { "content-length": "20" } }),
    );
    const download = await client(ui, 50).fileDownload(PATH);
    const error = await failureOf(new Response(download.body).arrayBuffer());
    expect(error).toMatchObject({ kind: "timeout", hop: "toolkit" });
    expect(error.message).toMatch(/sent nothing for 0\.1 s .*resume from byte 4/);
  });

  it("fails a body that ends before its announced length", async () => {
    const ui = new ScriptedUi().on(
      ROUTE,
      () => new Response("fghij".slice(0, 3), { status: 206, headers: { "content-range": "bytes 15-19/20" } }),
    );
    const download = await client(ui).fileDownload(PATH, { rangeStart: 15 });
    const error = await failureOf(new Response(download.body).arrayBuffer());
    expect(error.message).toMatch(/after 3 of 5 bytes; resume from byte 18/);
  });
});
