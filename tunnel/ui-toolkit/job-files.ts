// What the UI shows of a job's folder (ui/src/app/api/jobs/[jobID]/{log,loss,samples,files,plugin}).
//
// All of them read `<TRAINING_FOLDER>/<job name>`, while the trainer writes its samples, checkpoints
// and loss_log.db to `process[0].training_folder/<config.name>`: when the two differ, those come
// back empty. The log is the exception: the queue worker opens log.txt in the UI's folder itself,
// so it is there whatever the config says.
//
// log: `{log, offset, reset}`. Without `offset` (or with one past the end: the log was replaced),
// the last 5 MB, a cut first line dropped, `reset: true`; otherwise the bytes after `offset`.

import { access, open, readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";

import { type Answer, json, type Router } from "./http.ts";
import { readLoss } from "./loss-log.ts";
import type { Settings } from "./settings.ts";
import type { JobRow, Store } from "./store.ts";

const MAX_TAIL_BYTES = 5 * 1024 * 1024;
const SAMPLE_ENDINGS = [".png", ".jpg", ".jpeg", ".webp", ".mp4", "mp3", "wav", "flac", "ogg"];

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

async function readLog(logPath: string, offsetParam: string | null): Promise<Answer> {
  const offset = offsetParam === null ? Number.NaN : parseInt(offsetParam, 10);
  try {
    const size = (await stat(logPath)).size;
    const reset = Number.isNaN(offset) || offset > size;
    if (!reset && offset < 0) throw new RangeError("offset out of range");
    const handle = await open(logPath, "r");
    try {
      const read = async (start: number): Promise<string> => {
        const length = size - start;
        if (length <= 0) return "";
        const buffer = Buffer.alloc(length);
        await handle.read(buffer, 0, length, start);
        return buffer.toString("utf8");
      };
      if (reset) {
        const start = Math.max(0, size - MAX_TAIL_BYTES);
        let log = await read(start);
        if (start > 0) {
          const newline = log.indexOf("\n");
          if (newline !== -1) log = log.slice(newline + 1);
        }
        return json({ log, offset: size, reset: true });
      }
      return json({ log: await read(offset), offset: size, reset: false });
    } finally {
      await handle.close();
    }
  } catch {
    return json({ log: "Error reading log file", offset: 0, reset: true });
  }
}

export function addJobFileRoutes(router: Router, store: Store, settings: Settings): void {
  /** The job and its folder as the UI sees it, or the 404 answer. */
  const folderOf = (jobId: string | undefined): { job: JobRow; folder: string } | Answer => {
    const job = store.job(jobId ?? "");
    if (!job) return json({ error: "Job not found" }, 404);
    return { job, folder: path.join(settings.trainingFolder(), job.name) };
  };
  const isAnswer = (value: unknown): value is Answer =>
    typeof value === "object" && value !== null && "status" in value;

  router.add("GET", "/api/jobs/[jobID]/log", async (req) => {
    const found = folderOf(req.params.jobID);
    if (isAnswer(found)) return found;
    const logPath = path.join(found.folder, "log.txt");
    if (!(await exists(logPath))) return json({ log: "", offset: 0, reset: true });
    return readLog(logPath, req.url.searchParams.get("offset"));
  });

  router.add("GET", "/api/jobs/[jobID]/loss", async (req) => {
    const found = folderOf(req.params.jobID);
    if (isAnswer(found)) return found;
    const dbPath = path.join(found.folder, "loss_log.db");
    if (!(await exists(dbPath))) return json({ keys: [], key: "loss", points: [] });
    const params = req.url.searchParams;
    const sinceStep = params.get("since_step");
    return json(
      readLoss(dbPath, {
        key: params.get("key") ?? "loss",
        limit: Math.min(Number(params.get("limit") ?? 2000), 20000),
        sinceStep: sinceStep !== null ? Number(sinceStep) : null,
        stride: Math.max(1, Number(params.get("stride") ?? 1)),
      }),
    );
  });

  router.add("GET", "/api/jobs/[jobID]/samples", async (req) => {
    const found = folderOf(req.params.jobID);
    if (isAnswer(found)) return found;
    const samplesFolder = path.join(found.folder, "samples");
    if (!(await exists(samplesFolder))) return json({ samples: [] });
    const entries = await readdir(samplesFolder, { withFileTypes: true });
    const samples = entries
      .filter((entry) => entry.isFile() && SAMPLE_ENDINGS.some((ending) => entry.name.endsWith(ending)))
      .map((entry) => path.join(samplesFolder, entry.name))
      .sort();
    return json({ samples });
  });

  router.add("GET", "/api/jobs/[jobID]/plugin", async (req) => {
    const found = folderOf(req.params.jobID);
    if (isAnswer(found)) return found;
    const pluginPath = path.join(found.folder, "plugin.html");
    if (!(await exists(pluginPath))) return json({ exists: false, html: null });
    if (req.url.searchParams.get("check") === "1") return json({ exists: true, html: null });
    const html = await readFile(pluginPath, "utf8");
    return {
      status: 200,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      body: html,
    };
  });

  router.add("GET", "/api/jobs/[jobID]/files", async (req) => {
    const found = folderOf(req.params.jobID);
    if (isAnswer(found)) return found;
    if (!(await exists(found.folder))) return json({ files: [] });
    const names = (await readdir(found.folder)).filter((name) => name.endsWith(".safetensors"));
    const paths = names.map((name) => path.join(found.folder, name)).sort();
    const files = await Promise.all(paths.map(async (file) => ({ path: file, size: (await stat(file)).size })));
    const optimizer = path.join(found.folder, "optimizer.pt");
    try {
      files.push({ path: optimizer, size: (await stat(optimizer)).size });
    } catch {
      // no optimizer state
    }
    return json({ files });
  });
}
