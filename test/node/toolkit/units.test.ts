// The small pure pieces: tqdm formatting, Python text-mode line splitting and the original's
// progress rule, the safetensors writer, safe names and paths, Python-like base64.

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { progressFromLines, pythonTail, splitLinesUniversal } from "../../../tunnel/toolkit/log-reader.ts";
import { DataLayout, safeFileName, safeName } from "../../../tunnel/toolkit/paths.ts";
import { writeSafetensors } from "../../../tunnel/toolkit/safetensors.ts";
import { decodeBase64Like } from "../../../tunnel/toolkit/tools/datasets.ts";
import { formatBar, formatInterval, formatTqdmLine, pythonExp } from "../../../tunnel/toolkit/tqdm.ts";

describe("tqdm lines", () => {
  it("match ai-toolkit's output byte for byte", () => {
    const line = formatTqdmLine({
      desc: "my_lora",
      n: 450,
      total: 1000,
      elapsedSeconds: 312,
      postfix: `lr: ${pythonExp(1e-4, 1)} loss: ${pythonExp(0.3912, 3)}`,
    });
    expect(line).toBe("my_lora:  45%|####5     | 450/1000 [05:12<06:21,  1.44it/s, lr: 1.0e-04 loss: 3.912e-01]");
  });

  it("format the first refresh, slow rates, hours and the bar like tqdm", () => {
    expect(formatTqdmLine({ desc: "x", n: 0, total: 10, elapsedSeconds: 0, postfix: "" })).toBe(
      "x:   0%|          | 0/10 [00:00<?, ?it/s]",
    );
    expect(formatTqdmLine({ desc: "x", n: 1, total: 10, elapsedSeconds: 4, postfix: "" })).toBe(
      "x:  10%|#         | 1/10 [00:04<00:36,  4.00s/it]",
    );
    expect(formatInterval(3725)).toBe("1:02:05");
    expect(formatBar(1)).toBe("##########");
    expect(formatBar(0.999)).toBe("#########9");
    expect(pythonExp(12345, 2)).toBe("1.23e+04");
  });
});

describe("log reading", () => {
  it("splits like Python text mode: \\r, \\n and \\r\\n all end a line", () => {
    expect(splitLinesUniversal("a\rb\r\nc\nd")).toEqual(["a\n", "b\n", "c\n", "d"]);
    expect(splitLinesUniversal("x\n\ry\r")).toEqual(["x\n", "\n", "y\n"]);
    expect(splitLinesUniversal("")).toEqual([]);
  });

  it("computes progress the original's way, which ignores tqdm", () => {
    const tqdm = "my_lora:  45%|####5     | 450/1000 [05:12<06:21,  1.44it/s, lr: 1.0e-04 loss: 3.912e-01]\n";
    expect(progressFromLines([tqdm])).toBe(0);
    expect(progressFromLines(["Step 5/10 done\n", tqdm])).toBe(50);
    expect(progressFromLines(["step 1/3\n", "step 2/3\n"])).toBe(66);
    expect(progressFromLines(["step 1/0\n"])).toBe(0);
    // Only the last 100 lines are looked at.
    expect(progressFromLines(["step 9/10\n", ...Array<string>(100).fill("other\n")])).toBe(0);
  });

  it("tails like Python's items[-n:]", () => {
    expect(pythonTail([1, 2, 3, 4], 2)).toEqual([3, 4]);
    expect(pythonTail([1, 2, 3, 4], 10)).toEqual([1, 2, 3, 4]);
    expect(pythonTail([1, 2, 3, 4], 0)).toEqual([1, 2, 3, 4]);
    expect(pythonTail([1, 2, 3, 4], -1)).toEqual([2, 3, 4]);
  });
});

describe("safetensors writer", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "safetensors-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([undefined, 4096, 100_003, 1_000_000])("writes a readable file (target %s bytes)", async (target) => {
    const file = path.join(dir, `m${target ?? "x"}.safetensors`);
    const written = writeSafetensors(file, {
      metadata: { ss_network_dim: "4" },
      tensors: [
        { name: "a.weight", shape: [4, 3], value: (i) => i },
        { name: "a.alpha", shape: [], value: () => 4 },
      ],
      targetBytes: target,
    });
    const bytes = await readFile(file);
    expect(bytes.length).toBe(written);
    if (target !== undefined) expect(bytes.length).toBe(target);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString()) as Record<
      string,
      { data_offsets: number[] }
    >;
    expect(header.__metadata__).toEqual({ ss_network_dim: "4" });
    expect(header["a.weight"]).toEqual({ dtype: "F32", shape: [4, 3], data_offsets: [0, 48] });
    expect(header["a.alpha"]).toEqual({ dtype: "F32", shape: [], data_offsets: [48, 52] });
    const end = Math.max(...Object.values(header).map((t) => t.data_offsets?.[1] ?? 0));
    expect(8 + headerLength + end).toBe(bytes.length);
    expect(bytes.readFloatLE(8 + headerLength + 4 * 5)).toBe(5);
  });
});

describe("names and paths", () => {
  it("accepts plain names only", () => {
    expect(safeName("my_lora")).toBe("my_lora");
    for (const bad of ["", ".", "..", "a/b", "a\\b", "../x", "/abs", "nul\0l", 5]) expect(safeName(bad)).toBeNull();
  });

  it("reduces filenames to their last segment", () => {
    expect(safeFileName("../../x.png")).toBe("x.png");
    expect(safeFileName("C:\\temp\\y.jpg")).toBe("y.jpg");
    expect(safeFileName("dir/")).toBeNull();
    expect(safeFileName("a/..")).toBeNull();
  });

  it("maps /ai-toolkit onto the data folder and refuses anything outside it", () => {
    const layout = new DataLayout("/srv/data");
    expect(layout.toVirtual("/srv/data/config/a.yaml")).toBe("/ai-toolkit/config/a.yaml");
    expect(layout.resolveUserPath("/ai-toolkit/outputs/x", "/srv/data/outputs")).toBe("/srv/data/outputs/x");
    expect(layout.resolveUserPath("x/y", "/srv/data/outputs")).toBe("/srv/data/outputs/x/y");
    expect(layout.resolveUserPath("/srv/data/outputs/z", "/srv/data/outputs")).toBe("/srv/data/outputs/z");
    for (const bad of ["../../x", "/ai-toolkit/../x", "/etc/passwd", "/srv/database", ""]) {
      expect(layout.resolveUserPath(bad, "/srv/data/outputs"), bad).toBeNull();
    }
    expect(layout.realiseConfigPaths({ a: ["/ai-toolkit/datasets/d", "keep"], b: "/ai-toolkit/../etc" })).toEqual({
      a: ["/srv/data/datasets/d", "keep"],
      b: "/ai-toolkit/../etc",
    });
  });
});

describe("base64 like Python's b64decode", () => {
  it("decodes valid data and refuses bad padding", () => {
    expect(decodeBase64Like("aGVsbG8=")?.toString()).toBe("hello");
    expect(decodeBase64Like("aGVs\nbG8=")?.toString()).toBe("hello");
    expect(decodeBase64Like("not base64!")).toBeNull();
    expect(decodeBase64Like("aGVsbG8")).toBeNull();
    expect(decodeBase64Like("a=GV")).toBeNull();
  });
});
