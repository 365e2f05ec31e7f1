import { env } from "cloudflare:workers";
import { readConfig } from "../../src/config";
import type { ToolContext } from "../../src/mcp/tool";
import { json, JOB_ID, jobRow, ScriptedUi } from "./toolkit/ui-scripted";
import { upstreamOn } from "./toolkit/ui-upstream-helpers";

/** A UI job with samples, for get_training_samples and the /samples route. */
export const ORIGIN = "https://mcp.example.com";
export const SAMPLES = "/home/me/ai-toolkit/output/my_lora/samples";
export const OTHER_JOB = "0b7e4c1d-2f3a-4b5c-8d9e-112233445566";

/** `<ms>__<step:09d>_<i>.<ext>`, as the trainer names them. */
export const fileOf = (ms: number, step: number, index: number, ext = "jpg") =>
  `${ms}__${String(step).padStart(9, "0")}_${index}.${ext}`;

export const FILES = [fileOf(1000, 0, 0), fileOf(2000, 500, 0), fileOf(2001, 500, 1), fileOf(3000, 1000, 0, "mp4")];
export const PATHS = FILES.map((file) => `${SAMPLES}/${file}`);

export const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 9, 8, 7, 0xff, 0xd9]);
/** The full image the UI streams (any bytes: the route passes them on untouched). */
export const FULL = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 251);

const config = JSON.stringify({
  job: "extension",
  config: {
    name: "my_lora",
    process: [{ type: "diffusion_trainer", sample: { samples: [{ prompt: "a cat" }, { prompt: "a dog" }] } }],
  },
});

export const imgRoute = (path: string) => `GET /api/img/${encodeURIComponent(path)}`;
export const fileRoute = (path: string) => `GET /api/files/${encodeURIComponent(path)}`;

/** The UI of one job with FILES as samples: JPEG thumbnails (none for the video) and FULL behind each file. */
export function sampleUi(): ScriptedUi {
  const ui = new ScriptedUi()
    .on(`GET /api/jobs/${JOB_ID}/samples`, json({ samples: PATHS }))
    .on(`GET /api/jobs/${OTHER_JOB}/samples`, json({ samples: [] }))
    .on("GET /api/jobs", json(jobRow({ job_config: config })));
  for (const path of PATHS) {
    ui.on(imgRoute(path), () =>
      path.endsWith(".mp4")
        ? new Response("no still", { status: 404 })
        : new Response(JPEG.slice(), { headers: { "content-type": "image/jpeg" } }),
    );
    ui.on(
      fileRoute(path),
      () =>
        new Response(FULL.slice(), {
          // As the UI's file route answers: an attachment, typed however it likes.
          headers: {
            "content-type": "application/octet-stream",
            "content-disposition": 'attachment; filename="x"',
            "content-length": String(FULL.length),
          },
        }),
    );
  }
  return ui;
}

export function uiContext(ui: ScriptedUi, timeoutMs = 1000): ToolContext {
  return { config: readConfig(env), upstream: upstreamOn(ui, { timeoutMs }), env, origin: ORIGIN };
}
