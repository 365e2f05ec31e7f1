import { z } from "zod";
import { ToolkitError } from "../errors";
import { sampleFileName, type SampleImage, type SampleSet } from "../upstream";
import { mapBounded, UI_FAN_OUT } from "./bounded";
import type { UiClient } from "./client";
import { UI, type UiContext } from "./failures";
import { sendUi } from "./http";
import { uiAbsolutePathSchema, uiJobIdSchema } from "./names";
import { basename } from "./models";

/**
 * A training job's sample images on ai-toolkit's UI. The trainer names them
 * `<ms>__<step:09d>_<i>.<ext>` in `<job>/samples/`; their prompts are in the job's config. The
 * UI's own file URLs need no token on the LAN, so they never leave this module: the tools hand
 * out signed links and fetch the bytes through uiSampleImage.
 */

/** The most samples one answer carries (each may bring a thumbnail). */
export const MAX_SAMPLES = 12;
/** The largest thumbnail read; the UI makes 300 px JPEGs of a few tens of KB. */
export const MAX_THUMBNAIL_BYTES = 512 * 1024;

const SAMPLE_NAME = /^(\d+)__(\d{9})_(\d+)\.([A-Za-z0-9]+)$/;

/** The image types a thumbnail may be, with the bytes each starts with. */
const THUMBNAIL_TYPES: Record<string, (bytes: Uint8Array) => boolean> = {
  "image/jpeg": (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  "image/png": (b) => b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47,
  "image/webp": (b) =>
    String.fromCharCode(...b.subarray(0, 4)) === "RIFF" && String.fromCharCode(...b.subarray(8, 12)) === "WEBP",
};

const CONTENT_TYPES: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  mp4: "video/mp4",
};

/** The prompts of the job config the trainer samples with (`sample.samples[i].prompt`, or older `sample.prompts[i]`). */
const samplePromptsSchema = z.looseObject({
  config: z.looseObject({
    process: z
      .array(
        z.looseObject({
          sample: z
            .looseObject({
              samples: z.array(z.looseObject({ prompt: z.string().optional() })).optional(),
              prompts: z.array(z.string()).optional(),
            })
            .optional(),
        }),
      )
      .optional(),
  }),
});

interface ParsedSample {
  path: string;
  ms: number;
  step: number;
  index: number;
}

/** The newest `count` samples (at most MAX_SAMPLES), or those of `step`, oldest first, with prompts and thumbnails. */
export async function uiSamples(
  client: UiClient,
  jobId: string,
  query: { count: number; step?: number | undefined },
): Promise<SampleSet> {
  checkJobId(jobId);
  const [paths, job] = await Promise.all([client.samples(jobId), client.job(jobId)]);
  if (!job) throw new ToolkitError("tool", `${UI} has no job with id ${jobId}: it was deleted; list the jobs again`);
  const parsed = paths.flatMap((path) => parseSample(path) ?? []);
  const steps = [...new Set(parsed.map((sample) => sample.step))].sort((a, b) => a - b);
  if (parsed.length === 0) {
    throw new ToolkitError(
      "tool",
      `job ${job.name} has no samples yet: the trainer makes them every sample_every steps (and at the start); ` +
        `ask again later`,
    );
  }
  const byAge = parsed.sort((a, b) => a.ms - b.ms || a.step - b.step || a.index - b.index);
  let chosen: ParsedSample[];
  if (query.step !== undefined) {
    chosen = byAge.filter((sample) => sample.step === query.step).slice(-MAX_SAMPLES);
    if (chosen.length === 0) {
      throw new ToolkitError(
        "tool",
        `job ${job.name} has no samples of step ${query.step}; it has samples of step${steps.length === 1 ? "" : "s"} ` +
          `${steps.join(", ")}: ask for one of those`,
      );
    }
  } else {
    const count = Math.min(MAX_SAMPLES, Math.max(1, Math.floor(query.count)));
    chosen = byAge.slice(-count);
  }
  const prompts = promptsOf(job.job_config);
  // One deadline for every thumbnail: fetched UI_FAN_OUT at a time, per-thumbnail deadlines would
  // add up (12 stalled previews would hold the answer for three time-outs).
  const thumbnails = AbortSignal.timeout(client.context.timeoutMs);
  const samples = await mapBounded(chosen, UI_FAN_OUT, async (sample): Promise<SampleImage> => {
    const preview = await thumbnail(client.context, sample.path, thumbnails);
    return {
      step: sample.step,
      index: sample.index,
      prompt: prompts[sample.index],
      path: sample.path,
      ...(preview ? { thumbnail: preview } : {}),
    };
  });
  return { job_id: jobId, steps, samples };
}

/**
 * One sample's full image, streamed from the UI: only a path the job's own sample listing
 * holds (named by the path or by its file name), so no caller can read any other file of the
 * UI's machine through this.
 */
export async function uiSampleImage(client: UiClient, jobId: string, sample: string): Promise<Response> {
  checkJobId(jobId);
  const listed = await client.samples(jobId);
  // A file name names a sample only when exactly one listed path ends in it.
  const named = /[\\/]/.test(sample) ? [] : listed.filter((path) => sampleFileName(path) === sample);
  const path = listed.includes(sample) ? sample : named.length === 1 ? named[0] : undefined;
  if (path === undefined || !parseSample(path)) {
    throw new ToolkitError(
      "tool",
      `${JSON.stringify(sample.slice(0, 200))} is not one of the samples of job ${jobId}: ask for the job's ` +
        `samples again and use one from that answer`,
    );
  }
  const download = await client.fileDownload(path);
  const type = CONTENT_TYPES[(SAMPLE_NAME.exec(basename(path))?.[4] ?? "").toLowerCase()];
  return new Response(download.body, {
    headers: {
      "content-type": type ?? "application/octet-stream",
      ...(download.length !== null ? { "content-length": String(download.length) } : {}),
    },
  });
}

function parseSample(path: string): ParsedSample | undefined {
  const match = SAMPLE_NAME.exec(basename(path));
  if (!match) return undefined;
  return { path, ms: Number(match[1]), step: Number(match[2]), index: Number(match[3]) };
}

function promptsOf(jobConfig: string): (string | undefined)[] {
  let parsed;
  try {
    parsed = samplePromptsSchema.safeParse(JSON.parse(jobConfig));
  } catch {
    return [];
  }
  const sample = parsed.success ? parsed.data.config.process?.[0]?.sample : undefined;
  return sample?.samples?.map((item) => item.prompt) ?? sample?.prompts ?? [];
}

function checkJobId(jobId: string): void {
  if (!uiJobIdSchema.safeParse(jobId).success) {
    throw new ToolkitError(
      "tool",
      `${JSON.stringify(jobId.slice(0, 80))} is not a job id of ${UI} (those are uuids): list the jobs for theirs`,
    );
  }
}

/**
 * The UI's small preview (`GET /api/img/<path>?thumb=1`, a 300 px JPEG), or undefined when there
 * is none worth sending: a failure, a video the UI made no still of, something not an image or
 * larger than MAX_THUMBNAIL_BYTES. A preview is a nicety; its absence never fails the answer.
 */
async function thumbnail(ctx: UiContext, path: string, timeout: AbortSignal): Promise<SampleImage["thumbnail"]> {
  if (timeout.aborted || !uiAbsolutePathSchema.safeParse(path).success) return undefined;
  const call = {
    method: "GET" as const,
    path: `/api/img/${encodeURIComponent(path)}?thumb=1`,
    action: `read the thumbnail of ${path}`,
    headers: { Accept: "image/*" },
  };
  let response: Response;
  try {
    response = await sendUi(ctx, call, { signal: timeout, timeoutMs: ctx.timeoutMs, timedOut: () => timeout.aborted });
  } catch {
    return undefined;
  }
  const mimeType = (response.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const looksRight = THUMBNAIL_TYPES[mimeType];
  const announced = Number(response.headers.get("content-length") ?? "0");
  if (!response.ok || !looksRight || !(announced <= MAX_THUMBNAIL_BYTES)) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  const bytes = await readBytes(response, timeout, MAX_THUMBNAIL_BYTES);
  if (!bytes || !looksRight(bytes)) return undefined;
  return { bytes, mimeType };
}

/** The whole body, or undefined when it is larger than `limit`, breaks or outlasts `signal`. */
async function readBytes(response: Response, signal: AbortSignal, limit: number): Promise<Uint8Array | undefined> {
  if (!response.body) return undefined;
  const reader = response.body.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", onAbort);
  if (signal.aborted) onAbort();
  const chunks: Uint8Array[] = [];
  let length = 0;
  try {
    for (;;) {
      const next = await reader.read();
      if (signal.aborted) return undefined;
      if (next.done) break;
      length += next.value.byteLength;
      if (length > limit) {
        void reader.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(next.value);
    }
  } catch {
    return undefined;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return bytes;
}
