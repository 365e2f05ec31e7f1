import { describe, expect, it } from "vitest";
import {
  exceptionLine,
  findTraceback,
  latestUpdate,
  parseInterval,
  parseRate,
  parseTqdmLine,
  splitLog,
  trainingBar,
  tqdmUpdates,
} from "../../../src/jobs/tqdm";
import { TRACEBACK, textModeLines, tqdmLog } from "./scripted-toolkit";

describe("parseTqdmLine", () => {
  it("reads ai-toolkit's progress line", () => {
    const update = parseTqdmLine(
      "my_lora:  45%|####5     | 450/1000 [05:12<06:21,  1.44it/s, lr: 1.0e-04 loss: 3.912e-01]",
    );
    expect(update).toEqual({
      description: "my_lora",
      step: 450,
      total: 1000,
      percent: 45,
      elapsedSeconds: 312,
      remainingSeconds: 381,
      rate: 1.44,
      lr: 1e-4,
      losses: { loss: 0.3912 },
    });
  });

  it("reads seconds per iteration, hours and several loss terms", () => {
    const update = parseTqdmLine(
      "flux_char:  12%|#2        | 1200/10000 [1:02:03<7:35:10,  3.10s/it, lr: 4.0e-04 loss: 4.120e-01 " +
        "diff_loss: 3.5e-01 prior_loss: 6.2e-02]",
    );
    expect(update?.elapsedSeconds).toBe(3723);
    expect(update?.remainingSeconds).toBe(7 * 3600 + 35 * 60 + 10);
    expect(update?.rate).toBeCloseTo(1 / 3.1, 6);
    expect(update?.losses).toEqual({ loss: 0.412, diff_loss: 0.35, prior_loss: 0.062 });
  });

  it("reads the first redraw, before any rate or loss is known", () => {
    const update = parseTqdmLine("my_lora:   0%|          | 0/1000 [00:00<?, ?it/s]");
    expect(update).toMatchObject({ step: 0, total: 1000, elapsedSeconds: 0, losses: {} });
    expect(update?.rate).toBeUndefined();
    expect(update?.remainingSeconds).toBeUndefined();
  });

  it("reads tqdm's set_postfix form (key=value, comma separated) and Unicode bars", () => {
    const update = parseTqdmLine(" 50%|█████     | 5/10 [00:05<00:05,  1.00it/s, loss=0.25, lr=0.0001]");
    expect(update).toMatchObject({ description: "", step: 5, total: 10, lr: 0.0001, losses: { loss: 0.25 } });
  });

  it("ignores ordinary lines", () => {
    expect(parseTqdmLine("Saving at step 250")).toBeUndefined();
    expect(parseTqdmLine("create LoRA network. base dim (rank): 16, alpha: 16")).toBeUndefined();
  });
});

describe("reading a log", () => {
  it("splits \\r-joined redraws and takes the newest", () => {
    const raw = "Loading Flux model\n" + tqdmLog("my_lora", 1000, 0, 30, 10);
    // As one unsplit string (a reader that only splits on \n) and as text-mode lines.
    for (const lines of [[raw], textModeLines(raw)]) {
      const segments = splitLog(lines);
      expect(segments[0]).toBe("Loading Flux model");
      expect(latestUpdate(segments)?.step).toBe(30);
      expect(tqdmUpdates(segments).map((u) => u.step)).toEqual([0, 10, 20, 30]);
    }
  });

  it("tells the training bar from the others by name, else by planned total, else by its lr and loss", () => {
    const segments = splitLog([
      "Loading checkpoint shards: 100%|##########| 3/3 [00:06<00:00,  2.00s/it]\n",
      tqdmLog("my_lora", 1000, 0, 20, 10),
      "\nGenerating Images: 100%|##########| 4/4 [00:08<00:00,  2.00s/it]\n",
    ]);
    expect(latestUpdate(segments)?.description).toBe("Generating Images");
    expect(latestUpdate(segments, trainingBar(["my_lora"], 4))?.step).toBe(20);
    expect(latestUpdate(segments, trainingBar(["other", undefined, " "], 1000))).toBeUndefined();
    expect(latestUpdate(segments, trainingBar([undefined], 1000))?.step).toBe(20);
    expect(tqdmUpdates(segments, trainingBar([], undefined)).map((u) => u.step)).toEqual([10, 20]);
  });

  it("keeps tqdm's padding out of the values", () => {
    const segments = splitLog([
      "\rrun:  10%|#         | 10/100 [00:10<01:30,  1.00it/s, lr: 1.0e-04 loss: 2.000e-01]     \n",
    ]);
    expect(latestUpdate(segments)?.losses).toEqual({ loss: 0.2 });
  });

  it("finds a Python traceback and its exception line", () => {
    const segments = splitLog(textModeLines(tqdmLog("my_lora", 100, 0, 40, 10) + "\n" + TRACEBACK));
    const traceback = findTraceback(segments);
    expect(traceback?.startsWith("Traceback (most recent call last):")).toBe(true);
    expect(traceback).toContain("BaseSDTrainProcess.py");
    expect(exceptionLine(traceback ?? "")).toBe(
      "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
    );
    expect(findTraceback(splitLog([tqdmLog("my_lora", 100, 0, 40, 10)]))).toBeUndefined();
  });

  it("shortens a very long traceback to its head and its end", () => {
    const frames = Array.from({ length: 200 }, (_, i) => `  File "x.py", line ${i}, in f`);
    const traceback = findTraceback(["Traceback (most recent call last):", ...frames, "ValueError: boom"]) ?? "";
    expect(traceback.split("\n").length).toBeLessThanOrEqual(40);
    expect(traceback).toContain("lines omitted");
    expect(traceback.endsWith("ValueError: boom")).toBe(true);
  });
});

describe("intervals and rates", () => {
  it("parses tqdm's intervals", () => {
    expect(parseInterval("05:12")).toBe(312);
    expect(parseInterval("1:00:00")).toBe(3600);
    expect(parseInterval("2d, 1:00:00")).toBe(2 * 86400 + 3600);
    expect(parseInterval("?")).toBeUndefined();
  });

  it("parses rates both ways round", () => {
    expect(parseRate("1.44it/s")).toBe(1.44);
    expect(parseRate("2.00s/it")).toBe(0.5);
    expect(parseRate("?it/s")).toBeUndefined();
  });
});
