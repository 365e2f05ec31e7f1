import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { useStackAndBrowser } from "./browser";
import { callTool } from "./harness";
import { sha256, testImage } from "./upload-data";

/**
 * The upload page in a real browser (Debian's chromium): pick files, see thumbnails and
 * progress, edit a caption, reload in the middle of a file sent in parts and resume it
 * without resending the parts that arrived, then send the dataset to the toolkit; a part
 * whose connection drops is retried; a folder dropped on the drop zone is walked.
 */
const MiB = 1024 * 1024;

describe("upload page in chromium", () => {
  const running = useStackAndBrowser();

  it("uploads, captions, resumes after a reload and finalizes", async () => {
    const client = await running.stack.connect();
    const created = await callTool(client, "create_dataset_upload", { dataset_name: "page_set", trigger_word: "sks" });
    const pageUrl = String(created.structuredContent?.page_url);
    const small = Array.from({ length: 5 }, (_, i) => ({
      name: `small_${i}.png`,
      mimeType: "image/png",
      buffer: Buffer.from(testImage(`page-${i}`, 200_000 + i)),
    }));
    const big = { name: "big.png", mimeType: "image/png", buffer: Buffer.from(testImage("page-big", 40 * MiB + 5)) };

    const page = await running.browser.newPage();
    await page.goto(pageUrl);
    await page.setInputFiles("#pick", small);
    for (const f of small)
      await page.locator(`.row[data-name="${f.name}"] .status`, { hasText: "uploaded" }).waitFor({ timeout: 30_000 });
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
    const received = (await (await fetch(`${pageUrl.replace(/\/page$/, "")}/files/big.png`)).json()) as {
      parts: Array<{ n: number }>;
    };
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
    const folder = join(running.stack.dataDir, "datasets", "page_set");
    expect(sha256(await readFile(join(folder, "big.png")))).toBe(sha256(big.buffer));
    expect(await readFile(join(folder, "small_0.txt"), "utf8")).toBe("sks on the beach");
    expect(await readFile(join(folder, "small_1.txt"), "utf8")).toBe("sks");
  }, 180_000);

  it("retries a part whose connection dropped, and every byte arrives", async () => {
    const client = await running.stack.connect();
    const created = await callTool(client, "create_dataset_upload", { dataset_name: "page_drop", trigger_word: "sks" });
    const pageUrl = String(created.structuredContent?.page_url);
    const base = pageUrl.replace(/\/page$/, "");
    const big = {
      name: "flaky.png",
      mimeType: "image/png",
      buffer: Buffer.from(testImage("page-flaky", 20 * MiB + 3)),
    };

    const page = await running.browser.newPage();
    const aborted: number[] = [];
    const attempts = new Map<number, number>();
    page.on("request", (request) => {
      const match = /\/files\/flaky\.png\/parts\/(\d+)$/.exec(request.url());
      if (match && request.method() === "PUT")
        attempts.set(Number(match[1]), (attempts.get(Number(match[1])) ?? 0) + 1);
    });
    // The connection under part 2 drops once, like Wi-Fi going away mid-upload.
    await page.route(/\/files\/flaky\.png\/parts\/2$/, async (route) => {
      if (aborted.length === 0) {
        aborted.push(2);
        await route.abort("connectionreset");
      } else await route.continue();
    });
    await page.goto(pageUrl);
    await page.setInputFiles("#pick", [big]);
    await page.locator('.row[data-name="flaky.png"] .status', { hasText: "uploaded" }).waitFor({ timeout: 60_000 });
    expect(aborted).toEqual([2]);
    // Part 2 went out again after the drop; the parts that had arrived were not resent.
    expect(Object.fromEntries(attempts)).toEqual({ 1: 1, 2: 2, 3: 1 });
    expect(await page.locator("#totaltext").textContent()).toBe("21.0 / 21.0 MB");
    const status = (await (await fetch(`${base}/files/flaky.png`)).json()) as { state: string; size: number };
    expect(status).toMatchObject({ state: "staged", size: big.buffer.length });

    await page.click("#finalize");
    await page.locator("#forward .ok", { hasText: "Done" }).waitFor({ timeout: 60_000 });
    expect(sha256(await readFile(join(running.stack.dataDir, "datasets", "page_drop", "flaky.png")))).toBe(
      sha256(big.buffer),
    );
    await page.close();
  }, 120_000);

  it("takes a folder dropped on the drop zone, subfolders and captions included", async () => {
    const client = await running.stack.connect();
    const created = await callTool(client, "create_dataset_upload", {
      dataset_name: "page_folder",
      trigger_word: "sks",
    });
    const pageUrl = String(created.structuredContent?.page_url);
    const base = pageUrl.replace(/\/page$/, "");
    const folder = [
      { path: "cats/cat_a.png", bytes: testImage("folder-a", 150_000) },
      { path: "cats/cat_a.txt", bytes: new TextEncoder().encode("cat on a sofa") },
      { path: "cats/more/cat_b.jpg", bytes: testImage("folder-b", 9 * MiB + 11, "jpeg") },
      { path: "cats/more/.DS_Store", bytes: new Uint8Array([0, 0, 0, 1]) },
    ];
    const loose = { path: "loose.png", bytes: testImage("folder-loose", 60_000) };

    const page = await running.browser.newPage();
    await page.goto(pageUrl);
    await dropFolder(page, folder, [loose]);
    for (const name of ["cat_a.png", "cat_b.jpg", "loose.png", "cat_a.txt"]) {
      await page.locator(`.row[data-name="${name}"] .status`, { hasText: "uploaded" }).waitFor({ timeout: 60_000 });
    }
    const manifest = (await (await fetch(base)).json()) as {
      files: Array<{ name: string; size: number; caption: string }>;
      rejected: unknown[];
    };
    const byName = Object.fromEntries(manifest.files.map((f) => [f.name, f]));
    expect(Object.keys(byName).sort()).toEqual(["cat_a.png", "cat_b.jpg", "loose.png"]);
    expect(byName["cat_b.jpg"]?.size).toBe(9 * MiB + 11);
    expect(byName["cat_a.png"]?.caption).toBe("sks, cat on a sofa");
    expect(byName["loose.png"]?.caption).toBe("sks");
    // Hidden files in the folder are skipped, not refused.
    expect(manifest.rejected).toEqual([]);
    await page.close();
  }, 120_000);
});

/**
 * Drops a folder (and loose files) on the page's drop zone with a synthetic DragEvent.
 * Headless Chromium cannot build a real folder drop: a DataTransfer made in script holds
 * only files, and their webkitGetAsEntry() is null. So the dropped item standing for the
 * folder answers webkitGetAsEntry() with a directory entry built from the files (the same
 * FileSystemDirectoryEntry surface Chromium hands a page for a real folder: createReader,
 * readEntries in batches until an empty one, file()), and the loose files go as they are.
 */
async function dropFolder(
  page: Page,
  tree: Array<{ path: string; bytes: Uint8Array }>,
  loose: Array<{ path: string; bytes: Uint8Array }>,
): Promise<void> {
  const encode = (list: typeof tree) =>
    list.map((f) => ({ path: f.path, data: Buffer.from(f.bytes).toString("base64") }));
  await page.evaluate(
    ({ tree, loose }) => {
      const fileOf = (f: { path: string; data: string }) => {
        const binary = atob(f.data);
        const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
        return new File([bytes], f.path.split("/").pop()!, {
          type: /\.png$/.test(f.path) ? "image/png" : /\.jpg$/.test(f.path) ? "image/jpeg" : "",
        });
      };
      type Entry = {
        isFile: boolean;
        isDirectory: boolean;
        name: string;
        file?: (ok: (f: File) => void) => void;
        createReader?: () => unknown;
      };
      const directory = (name: string, prefix: string): Entry => {
        const children = new Map<string, Entry>();
        for (const f of tree) {
          if (!f.path.startsWith(prefix)) continue;
          const [head, ...rest] = f.path.slice(prefix.length).split("/");
          if (!head || children.has(head)) continue;
          children.set(
            head,
            rest.length
              ? directory(head, `${prefix}${head}/`)
              : { isFile: true, isDirectory: false, name: head, file: (ok) => setTimeout(() => ok(fileOf(f))) },
          );
        }
        const all = [...children.values()];
        return {
          isFile: false,
          isDirectory: true,
          name,
          // Like Chromium: entries come in batches, and an empty batch means the end.
          createReader: () => {
            let at = 0;
            return { readEntries: (ok: (batch: Entry[]) => void) => setTimeout(() => ok(all.slice(at, (at += 2)))) };
          },
        };
      };
      const root = tree[0]!.path.split("/")[0]!;
      const dt = new DataTransfer();
      dt.items.add(new File([], root));
      for (const f of loose) dt.items.add(fileOf(f));
      const rootEntry = directory(root, `${root}/`);
      const native = DataTransferItem.prototype.webkitGetAsEntry;
      DataTransferItem.prototype.webkitGetAsEntry = function (this: DataTransferItem) {
        return this.getAsFile()?.name === root ? (rootEntry as unknown as FileSystemEntry) : native.call(this);
      };
      const zone = document.getElementById("drop")!;
      zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    { tree: encode(tree), loose: encode(loose) },
  );
}
