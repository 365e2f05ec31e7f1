import { z } from "zod";

/**
 * Everything the Worker puts into a URL path or a folder name on ai-toolkit's UI passes one of
 * these rules first. The UI joins job and dataset names onto its folders without checking them
 * (`path.join(TRAINING_FOLDER, job.name)`, and deleting a job or dataset removes that folder
 * recursively), so a name like ".." would reach outside them. The schemas are exported for the
 * tool layer, so a bad name is refused where the user typed it; the client checks again with
 * the same rules and throws a RangeError (a bug in its caller) before anything is sent.
 */

/** Job ids: the UI's database makes uuids (Prisma `@default(uuid())`). */
export const uiJobIdSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, "a job id of ai-toolkit's UI is a uuid");

/**
 * Names of new jobs: one folder name (TRAINING_FOLDER/<name>) that also works as the config's
 * `name` (ai-toolkit names checkpoints after it). Starting with a letter or digit rules out
 * ".", ".." and hidden folders.
 */
export const uiJobNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/,
    "a job name is 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit",
  );

/**
 * Dataset names as the UI lists them: one folder under DATASETS_FOLDER. The UI makes new ones
 * lower snake case, but a folder made by hand may hold spaces or capitals; any single,
 * visible path segment is accepted.
 */
export const uiDatasetNameSchema = z
  .string()
  .min(1)
  .max(255)
  .refine((name) => !/[/\\:\0-\x1f\x7f]/.test(name) && !name.startsWith("."), {
    message: "a dataset name is one folder name: no '/', '\\', ':', control characters or leading '.'",
  });

/** The GPU a job runs on, as the UI keeps it: "0", "0,1", or "mps" on a Mac. */
export const uiGpuIdsSchema = z
  .string()
  .regex(/^(mps|\d{1,3}(,\d{1,3}){0,15})$/, 'GPU ids are like "0" or "0,1" (or "mps")');

/** A file the UI may serve: an absolute path (POSIX or Windows) with no ".." segment. */
export const uiAbsolutePathSchema = z
  .string()
  .min(2)
  .max(4096)
  .refine((path) => /^(\/|[A-Za-z]:[\\/])/.test(path), { message: "the path must be absolute" })
  .refine((path) => !/\0/.test(path) && !path.split(/[\\/]/).includes(".."), {
    message: "the path must not contain '..' or NUL",
  });

/** Checks a value with one of the rules above; a failure is the caller's bug, so a RangeError. */
export function checked(schema: z.ZodType<string>, what: string, value: string): string {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new RangeError(
      `refusing to send ${what} ${JSON.stringify(value.slice(0, 120))} to ai-toolkit's UI: ` +
        `${parsed.error.issues[0]?.message ?? "invalid"}`,
    );
  }
  return parsed.data;
}

/** A job id, checked and encoded for a URL path. */
export function jobIdSegment(id: string): string {
  return encodeURIComponent(checked(uiJobIdSchema, "the job id", id));
}

/**
 * The name the UI stores an uploaded file under: its upload route replaces every character
 * outside [A-Za-z0-9.-] with "_" (per UTF-16 unit, as JavaScript strings go).
 */
export function uiStoredName(name: string): string {
  return name.replace(/[^a-zA-Z0-9.-]/g, "_");
}

/** ai-toolkit pairs an image with `<stem>.txt` (Python's os.path.splitext: the last dot). */
export function captionNameFor(imageName: string): string {
  const dot = imageName.lastIndexOf(".");
  return `${dot > 0 ? imageName.slice(0, dot) : imageName}.txt`;
}

/**
 * The folder name `POST /api/datasets/create` makes of a name: lower case, every run of
 * characters outside [a-z0-9] one "_" ("My Set!" becomes "my_set_"). The upload route does not
 * clean the dataset name at all, so a name that this changes would end up in two folders.
 */
export function uiCreatedDatasetName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "_");
}
