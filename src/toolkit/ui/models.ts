import { ToolkitError } from "../errors";
import type { CallOptions, ListedModel, ModelBytes } from "../upstream";
import { mapBounded, UI_FAN_OUT } from "./bounded";
import type { UiClient } from "./client";
import { UI } from "./failures";
import type { UiJob } from "./schemas";

/**
 * The Upstream's model methods on ai-toolkit's UI. Trained models are the `.safetensors` files
 * in each training job's folder (`GET /api/jobs/{id}/files`); their bytes come raw from the
 * front server (`GET /api/files/<path>`), resumed with Range when the stream breaks.
 */

/** How often one model download resumes after its stream broke before it gives up. */
export const MODEL_RESUMES = 3;
/** The pause before the n-th resume: n times this. */
const RESUME_PAUSE_MS = 250;

/**
 * Every training job's models: the final `<job>.safetensors` as `<job>`, each checkpoint
 * `<job>_<step:09d>.safetensors` as `<job>_<step:09d>`. optimizer.pt (the optimizer's state)
 * and any other file are left out.
 */
export async function uiListModels(client: UiClient, options?: CallOptions): Promise<ListedModel[]> {
  const jobs = (await client.jobs({}, options)).filter((job) => (job.job_type ?? "train") === "train");
  const perJob = await mapBounded(jobs, UI_FAN_OUT, async (job) => {
    try {
      return modelsOf(job, await client.files(job.id, options));
    } catch (error) {
      // Deleted between the two calls: its files went with it.
      if (error instanceof ToolkitError && error.kind === "tool" && error.status === 404) return [];
      throw error;
    }
  });
  // A job may be named like another job's checkpoint ("a_000000500"): the final model of that
  // job keeps the name, so a name always means one file.
  const byName = new Map<string, ListedModel>();
  for (const model of perJob.flat()) {
    const other = byName.get(model.name);
    if (!other || (other.step !== undefined && model.step === undefined)) byName.set(model.name, model);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function modelsOf(job: UiJob, files: readonly { path: string; size: number }[]): ListedModel[] {
  const models: ListedModel[] = [];
  for (const file of files) {
    const name = basename(file.path);
    if (name === `${job.name}.safetensors`) {
      // The UI reports no modification times. The job row's updated_at changes whenever the job
      // is started again, so a re-run that rewrites the final model is noticed (a copy staged
      // before it is not reused).
      models.push({ name: job.name, path: file.path, size: file.size, mtime: job.updated_at, job: job.name });
      continue;
    }
    const checkpoint = name.startsWith(`${job.name}_`)
      ? /^_(\d{9})\.safetensors$/.exec(name.slice(job.name.length))
      : null;
    if (checkpoint?.[1] !== undefined) {
      // A checkpoint is written once per job: a resumed run continues after the newest one.
      // Only a job deleted and made again under the same name rewrites it, and that row has a
      // new created_at.
      const step = Number(checkpoint[1]);
      models.push({
        name: `${job.name}_${checkpoint[1]}`,
        path: file.path,
        size: file.size,
        mtime: job.created_at,
        job: job.name,
        step,
      });
    }
  }
  return models;
}

/**
 * Refuses, always. The UI has no way to copy a file: its models stay in their job folder. The
 * caller asked for a file at `outputPath`; answering success with another path would let it
 * believe that file exists, so the error says where the model is, that nothing was copied, and
 * how to get it instead.
 */
export async function uiExportModel(
  client: UiClient,
  modelName: string,
  outputPath: string,
): Promise<{ status: string; path: string }> {
  let where: string;
  try {
    const listed = (await uiListModels(client)).find((model) => model.name === modelName);
    where = listed
      ? `keeps ${modelName} in its job folder, at ${listed.path}`
      : `lists no model named ${JSON.stringify(modelName)} (list_exported_models shows the names it has)`;
  } catch (error) {
    where = `could not be asked where ${modelName} is (${error instanceof Error ? error.message : String(error)})`;
  }
  throw new ToolkitError(
    "tool",
    `${UI} cannot copy models: it ${where}. Nothing was copied to ${outputPath}. Use download_model to ` +
      `get the file (list_exported_models shows every model and checkpoint the UI has)`,
  );
}

/**
 * The model's raw bytes from the front server. When the stream breaks or stalls part-way, the
 * rest is asked for with `Range: bytes=<reached>-`, at most MODEL_RESUMES times; download.ts
 * checks that the 206 starts at that byte. A server that answers a resume with the whole file
 * (200) fails the download ("refuse"): the bytes already passed on cannot be taken back, and
 * skipping gigabytes to reach the same byte again is no cheaper than starting over.
 */
export async function uiOpenModel(
  client: UiClient,
  name: string,
  listed: ListedModel | undefined,
  options: CallOptions,
): Promise<ModelBytes> {
  if (!listed) {
    throw new ToolkitError(
      "tool",
      `${UI} lists no model named ${JSON.stringify(name)}: call list_exported_models for the names of the ` +
        `models and checkpoints it has`,
    );
  }
  const path = listed.path;
  const filename = basename(path);
  const timeouts = {
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const first = await client.fileDownload(path, timeouts);
  const expected = first.size ?? listed.size;
  if (expected !== listed.size) {
    await first.body.cancel().catch(() => {});
    throw changed(name, listed.size, expected);
  }

  let reader = first.body.getReader();
  let reached = 0;
  let resumes = 0;
  let settle!: { resolve: () => void; reject: (error: unknown) => void };
  const ended = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  ended.catch(() => {}); // read through verify(); a body nobody verifies must not reject unhandled

  const resume = async (cause: unknown): Promise<void> => {
    const resumable = cause instanceof ToolkitError && (cause.kind === "unreachable" || cause.kind === "timeout");
    if (!resumable || resumes >= MODEL_RESUMES || options.signal?.aborted) throw cause;
    resumes++;
    await new Promise((resolve) => setTimeout(resolve, RESUME_PAUSE_MS * resumes));
    let next;
    try {
      next = await client.fileDownload(path, { ...timeouts, rangeStart: reached });
    } catch (error) {
      return resume(error);
    }
    if (next.size !== null && next.size !== expected) {
      await next.body.cancel().catch(() => {});
      throw changed(name, expected, next.size);
    }
    reader = next.body.getReader();
  };

  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          try {
            const next = await reader.read();
            if (next.done && reached < expected) {
              // An answer without a length that simply ends: a break like any other.
              throw new ToolkitError(
                "unreachable",
                `${UI} ended the download of ${name} after ${reached} of ${expected} bytes`,
                undefined,
                "toolkit",
              );
            }
            if (next.done) {
              controller.close();
              settle.resolve();
            } else if (reached + next.value.byteLength > expected) {
              await reader.cancel().catch(() => {});
              throw new ToolkitError(
                "protocol",
                `${UI} sent more than the ${expected} bytes of ${name}: download_model again`,
              );
            } else {
              reached += next.value.byteLength;
              controller.enqueue(next.value);
            }
            return;
          } catch (error) {
            try {
              await resume(error);
            } catch (final) {
              const failure = final instanceof ToolkitError && resumes > 0 ? afterResumes(final, resumes) : final;
              controller.error(failure);
              settle.reject(failure);
              return;
            }
          }
        }
      },
      async cancel(reason: unknown) {
        settle.reject(reason);
        await reader.cancel(reason).catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );

  return {
    body,
    filename,
    async verify(size: number) {
      await ended;
      if (size !== expected || reached !== expected) {
        throw new ToolkitError(
          "protocol",
          `${UI} announced ${expected} bytes for ${name} but ${size} arrived: download_model again`,
        );
      }
    },
  };
}

function changed(name: string, before: number, now: number): ToolkitError {
  return new ToolkitError(
    "tool",
    `${name} on ${UI} is ${now} bytes now, not the ${before} it was listed with: the file changed (a run ` +
      `still writing it?). Call list_exported_models, then download_model again`,
  );
}

function afterResumes(error: ToolkitError, resumes: number): ToolkitError {
  return new ToolkitError(
    error.kind,
    `${error.message} (after ${resumes} resume${resumes === 1 ? "" : "s"} of the download)`,
    error.status,
    error.hop,
  );
}

/** The last segment of a POSIX or Windows path. */
export function basename(path: string): string {
  return path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1) || path;
}
