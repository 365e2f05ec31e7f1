import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { launchChromium } from "./browser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, startStack, type Stack } from "./harness";
import { sha256, testImage } from "./upload-data";

/**
 * The upload page in a real browser (Debian's chromium): pick files, see thumbnails and
 * progress, edit a caption, reload in the middle of a file sent in parts and resume it
 * without resending the parts that arrived, then send the dataset to the toolkit.
 */
const MiB = 1024 * 1024;

describe("upload page in chromium", () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startStack();
    browser = await launchChromium();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it("uploads, captions, resumes after a reload and finalizes", async () => {
    const client = await stack.connect();
    const created = await callTool(client, "create_dataset_upload", { dataset_name: "page_set", trigger_word: "sks" });
    const pageUrl = String(created.structuredContent?.page_url);
    const small = Array.from({ length: 5 }, (_, i) => ({ name: `small_${i}.png`, mimeType: "image/png", buffer: Buffer.from(testImage(`page-${i}`, 200_000 + i)) }));
    const big = { name: "big.png", mimeType: "image/png", buffer: Buffer.from(testImage("page-big", 40 * MiB + 5)) };

    const page = await browser.newPage();
    await page.goto(pageUrl);
    await page.setInputFiles("#pick", small);
    for (const f of small) await page.locator(`.row[data-name="${f.name}"] .status`, { hasText: "uploaded" }).waitFor({ timeout: 30_000 });
    expect(await page.locator(`.row[data-name="small_0.png"] img`).getAttribute("src")).toMatch(/^blob:/);
    const caption = page.locator('.row[data-name="small_0.png"] textarea');
    await caption.fill("sks on the beach");
    await caption.blur();
    await page.locator('.row[data-name="small_0.png"] .status', { hasText: "caption saved" }).waitFor();

    // Start the big file, reload once two parts have arrived.
    let partsSeen = 0;
    page.on("requestfinished", (request) => {
      if (/\/parts\/\d+$/.test(request.url())) partsSeen++;
    });
    await page.setInputFiles("#pick", [big]);
    await expect.poll(() => partsSeen, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    await page.reload();
    const received = (await (await fetch(`${pageUrl.replace(/\/page$/, "")}/files/big.png`)).json()) as { parts: Array<{ n: number }> };
    expect(received.parts.length).toBeGreaterThanOrEqual(2);
    const resent: number[] = [];
    page.on("request", (request) => {
      const match = /\/parts\/(\d+)$/.exec(request.url());
      if (match && request.method() === "PUT") resent.push(Number(match[1]));
    });
    await page.setInputFiles("#pick", [big]);
    await page.locator('.row[data-name="big.png"] .status', { hasText: "uploaded" }).waitFor({ timeout: 60_000 });
    for (const part of received.parts) expect(resent).not.toContain(part.n);
    expect(await page.locator("#totaltext").textContent()).toMatch(/41\.9 \/ 41\.9 MB/);

    await page.click("#finalize");
    await page.locator("#forward .ok", { hasText: "Done" }).waitFor({ timeout: 60_000 });
    const folder = join(stack.dataDir, "datasets", "page_set");
    expect(sha256(await readFile(join(folder, "big.png")))).toBe(sha256(big.buffer));
    expect(await readFile(join(folder, "small_0.txt"), "utf8")).toBe("sks on the beach");
    expect(await readFile(join(folder, "small_1.txt"), "utf8")).toBe("sks");
  }, 180_000);
});
