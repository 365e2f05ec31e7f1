import { z } from "zod";

/**
 * Every setting the Worker reads, validated once per env into one typed object.
 * Each field's description is the documentation: README.md ("Settings") mirrors it.
 */
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

/**
 * A folder on the toolkit's machine: absolute, '/' as separator, no '.', '..' or empty segments
 * and no control characters, not '/' itself (empty means the default). Tool arguments are checked against it by plain
 * prefix comparison, so it must be written the one way the toolkit will resolve it.
 */
const absoluteRoot = (name: string, fallback: string) =>
  z
    .string()
    .trim()
    .optional()
    .transform((root) => (root ? root : fallback).replace(/\/+$/, ""))
    .superRefine((root, ctx) => {
      const problem = rootProblem(root);
      if (problem) ctx.addIssue({ code: "custom", message: `${name} ${problem} (it is ${JSON.stringify(root)})` });
    });

function rootProblem(root: string): string | undefined {
  if (root === "") return "must be a folder, not /";
  if (!root.startsWith("/")) return "must be an absolute path";
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(root)) return "must not contain control characters or '\\'";
  const segments = root.slice(1).split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === ".."))
    return "must not contain '.', '..' or empty segments";
  return undefined;
}

/** True when `inner` is `outer` or a folder below it. */
const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}/`);

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/**
 * One browser origin as ALLOWED_ORIGINS lists it: https (http only for a loopback host), a
 * host and an optional port, nothing else (no path, query, fragment, user info or wildcard).
 * Returned in the form browsers send in the Origin header (lower-case host, default port left
 * out), or the reason it is refused.
 */
function parseOrigin(raw: string): { origin: string } | { problem: string } {
  const shape = "write scheme://host[:port], e.g. https://app.example.com (no paths, no wildcards)";
  if (!/^https?:\/\/[^/?#@*\s]+\/?$/i.test(raw)) return { problem: `"${raw}" is not an origin: ${shape}` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: `"${raw}" is not an origin: ${shape}` };
  }
  if (url.protocol === "http:" && !["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)) {
    return { problem: `"${raw}" must use https: anyone on the network path can pose as a plain-http origin` };
  }
  return { origin: url.origin };
}

const originList = z
  .string()
  .default("")
  .transform((value, ctx) => {
    const origins: string[] = [];
    for (const item of value
      .split(",")
      .map((part) => part.trim())
      .filter(Boolean)) {
      const parsed = parseOrigin(item);
      if ("problem" in parsed) ctx.addIssue({ code: "custom", message: parsed.problem });
      else if (!origins.includes(parsed.origin)) origins.push(parsed.origin);
    }
    return Object.freeze(origins);
  });

export const configSchema = z
  .object({
    /** The owner's password for the /authorize page (a secret). Unset: /authorize refuses. */
    OWNER_PASSWORD: optionalText,
    /** Pins the resource URL tokens are bound to; by default the origin the client connected to + /mcp. */
    MCP_RESOURCE: optionalText.pipe(z.url().optional()),
    /**
     * Browser origins (comma-separated, scheme://host[:port]) whose pages may call /mcp, besides
     * loopback pages and the Worker's own origin. Only browser-based MCP clients need this; each
     * origin listed may drive the endpoint from a visitor's browser (README.md, "Settings").
     */
    ALLOWED_ORIGINS: originList,
    /** Tunnel hostname of the toolkit (Access-protected); used when no TOOLKIT binding exists. */
    AI_TOOLKIT_URL: optionalText.pipe(z.url().optional()),
    /** Cloudflare Access service token, sent with every request to AI_TOOLKIT_URL. */
    CF_ACCESS_CLIENT_ID: optionalText,
    CF_ACCESS_CLIENT_SECRET: optionalText,
    /**
     * Which server answers on the GPU box: "bridge", the original AI Toolkit MCP server (port
     * 8012), or "ui", ai-toolkit's own web UI server (port 8675) with its job queue, loss log,
     * samples and checkpoints. README.md, "Which upstream".
     */
    AI_TOOLKIT_API: z
      .string()
      .trim()
      .toLowerCase()
      .default("bridge")
      .transform((value) => value || "bridge")
      .pipe(z.enum(["bridge", "ui"], { error: 'AI_TOOLKIT_API must be "bridge" or "ui"' })),
    /**
     * The token ai-toolkit's UI was started with (its own AI_TOOLKIT_AUTH), sent as
     * `Authorization: Bearer`; a secret. Unset: the UI runs without one. Only for AI_TOOLKIT_API=ui.
     */
    AI_TOOLKIT_AUTH: optionalText,
    /** The GPU queue the UI runs new jobs on, as the UI writes it: "0", or "0,1" for several. */
    AI_TOOLKIT_GPU_IDS: z
      .string()
      .trim()
      .default("0")
      .transform((value) => value || "0")
      .pipe(z.string().regex(/^\d{1,3}(,\d{1,3}){0,15}$/, 'AI_TOOLKIT_GPU_IDS must be GPU numbers like "0" or "0,1"')),
    /** Direct transport: only reachable from wrangler dev or a Worker on the same network. */
    AI_TOOLKIT_HOST: z.string().trim().min(1).default("192.168.0.152"),
    /** Default: 8012 for the bridge, 8675 for the UI. */
    AI_TOOLKIT_PORT: z.preprocess(
      (value) => (typeof value === "string" && value.trim() === "" ? undefined : value),
      z.coerce.number().int().min(1).max(65535).optional(),
    ),
    /** Per-call timeout towards the toolkit, in milliseconds. */
    TOOLKIT_TIMEOUT_MS: positiveInt(30_000),
    /** Where the toolkit keeps datasets; dataset_path must be an absolute path under it. */
    DATASETS_ROOT: absoluteRoot("DATASETS_ROOT", "/ai-toolkit/datasets"),
    /** Where local base models live; model_name is a Hugging Face id or an absolute path under it. */
    MODELS_ROOT: absoluteRoot("MODELS_ROOT", "/ai-toolkit/models"),
    /**
     * The exports folder: export_model writes only files directly inside it. It must be the
     * toolkit's outputs folder or a folder inside it, so an export never lands on ai-toolkit's own
     * files, configs or datasets. The default keeps exports apart from the trained models in outputs/.
     */
    EXPORT_ROOT: absoluteRoot("EXPORT_ROOT", "/ai-toolkit/outputs/exports").superRefine((root, ctx) => {
      if (!root.split("/").includes("outputs")) {
        ctx.addIssue({
          code: "custom",
          message:
            `EXPORT_ROOT must be the toolkit's outputs folder or a folder inside it, such as ` +
            `/ai-toolkit/outputs/exports (it is ${JSON.stringify(root)})`,
        });
      }
    }),
    // Training-job tracking (README.md, "Training jobs").
    /** Steady interval between two polls of a running job (status + log tail), in milliseconds. */
    TRAINING_POLL_INTERVAL_MS: positiveInt(10_000),
    /** Interval right after a start, when config errors and early crashes show up, in milliseconds. */
    TRAINING_POLL_FAST_MS: positiveInt(2_000),
    /** How long after a start the fast interval applies, in milliseconds. */
    TRAINING_POLL_FAST_WINDOW_MS: positiveInt(60_000),
    /** Ceiling of the back-off between polls while the toolkit is unreachable, in milliseconds. */
    TRAINING_POLL_MAX_BACKOFF_MS: positiveInt(5 * 60_000),
    /**
     * How long the toolkit may stay unreachable before the Worker stops polling a job and marks it
     * "lost" (everything known is kept; get_training_status still asks once), in milliseconds.
     */
    TRAINING_GIVE_UP_AFTER_MS: positiveInt(24 * 3_600_000),
    /**
     * A job's state younger than this is served without asking the toolkit, in milliseconds, so
     * many concurrent get_training_status calls cost at most one toolkit poll.
     */
    TRAINING_STATUS_FRESH_MS: positiveInt(2_000),
    /** Most loss-history points kept per job; longer runs are thinned evenly (storage stays bounded). */
    TRAINING_HISTORY_MAX_POINTS: positiveInt(1_000),
    /** Log lines kept per job, served by get_training_logs when the toolkit cannot answer. */
    TRAINING_LOG_TAIL_LINES: positiveInt(300),
    // Dataset upload sessions (README.md, "Uploading datasets").
    /** How long an upload session's URL works, in hours; its staged files are removed when it expires. */
    UPLOAD_SESSION_TTL_HOURS: positiveInt(24),
    /**
     * Largest /mcp/execute body sent to the toolkit when forwarding a dataset, in bytes. The
     * toolkit holds each body in memory, and Cloudflare refuses request bodies over 100 MB on a
     * tunnel hostname, so the default stays below both.
     */
    UPLOAD_BATCH_MAX_BYTES: positiveInt(90_000_000),
    /**
     * Largest single image, in bytes. An image must fit one batch once base64-encoded (4/3 of
     * its size plus the JSON envelope), so the effective limit is the smaller of the two.
     */
    UPLOAD_FILE_MAX_BYTES: positiveInt(64 * 1024 * 1024),
    /** Largest total of staged images in one session, in bytes. */
    UPLOAD_SESSION_MAX_BYTES: positiveInt(4 * 1024 * 1024 * 1024),
    /** Most images in one session (LoRA datasets are typically 10 to 500 images). */
    UPLOAD_SESSION_MAX_FILES: positiveInt(2000),
    /** Longest caption, in characters (the same rule as upload_dataset's inline captions). */
    UPLOAD_CAPTION_MAX_CHARS: positiveInt(4000),
    /**
     * How long staged files stay in R2 after the toolkit has confirmed every image, in hours.
     * 0 removes them at once; keeping them lets a lost dataset be re-sent without re-uploading.
     */
    UPLOAD_KEEP_STAGED_HOURS: z.coerce.number().min(0).default(0),
    /**
     * Timeout for one download_model call through the tunnel, in milliseconds. The toolkit
     * sends the whole model in one answer, so a big model takes minutes, not seconds.
     */
    MODEL_DOWNLOAD_TIMEOUT_MS: positiveInt(30 * 60_000),
    /** How long a signed download link stays valid, in seconds (never past the staged copy's expiry). */
    DOWNLOAD_LINK_TTL_SECONDS: positiveInt(3600),
    /** Largest model download_model returns inline as base64 (encoding "base64"); bigger ones get only the link. */
    DOWNLOAD_INLINE_MAX_BYTES: positiveInt(2 * 1024 * 1024),
    /** How long a model staged in R2 is kept and reused, in seconds; expired copies are deleted on next use. */
    STAGED_MODEL_TTL_SECONDS: positiveInt(24 * 3600),
    /**
     * Secret that signs download links (HMAC-SHA256); rotating it revokes every link. Unset:
     * a random key the Worker makes on first use and keeps (never derived from the password).
     */
    DOWNLOAD_SIGNING_KEY: optionalText,
  })
  .superRefine((config, ctx) => {
    if (within(config.EXPORT_ROOT, config.DATASETS_ROOT) || within(config.DATASETS_ROOT, config.EXPORT_ROOT)) {
      ctx.addIssue({
        code: "custom",
        path: ["EXPORT_ROOT"],
        message:
          `EXPORT_ROOT and DATASETS_ROOT must not contain one another (${config.EXPORT_ROOT}, ` +
          `${config.DATASETS_ROOT}): exports would land among the datasets`,
      });
    }
  });

/** Where each upstream listens when AI_TOOLKIT_PORT is not set. */
export const DEFAULT_PORTS = { bridge: 8012, ui: 8675 } as const;

export type Config = Omit<z.infer<typeof configSchema>, "AI_TOOLKIT_PORT"> & { AI_TOOLKIT_PORT: number };

/** The variables and secrets the schema reads, as they appear on `env`. */
type ConfigInput = { [K in keyof z.input<typeof configSchema>]?: unknown };

export class ConfigError extends Error {
  override name = "ConfigError";
}

/**
 * Parsed settings per env object. An isolate hands every request the same env, and several
 * parts of one request read the settings (routing, the MCP handler, the health check), so
 * the schema runs once per env rather than once per reader. Frozen: nobody may edit a shared copy.
 */
const parsedSettings = new WeakMap<object, Config>();

/** Per-request copies of an env (see requestEnv), mapped to the env they were copied from. */
const copiedFrom = new WeakMap<object, object>();

/**
 * A shallow copy of `env` for one request: the same bindings and settings, but properties
 * set on it during the request (the OAuth library installs its helpers as `OAUTH_PROVIDER`)
 * stay with that request instead of leaking into the isolate's shared env. Its settings are
 * the shared env's: readConfig parses them once for the env it was copied from.
 */
export function requestEnv<E extends object>(env: E): E {
  const copy = { ...env };
  copiedFrom.set(copy, copiedFrom.get(env) ?? env);
  return copy;
}

export function readConfig(input: ConfigInput): Config {
  const env = copiedFrom.get(input) ?? input;
  const cached = parsedSettings.get(env);
  if (cached) return cached;
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`The Worker's settings are invalid (${problems.join("; ")}). See README.md, "Settings".`);
  }
  const config: Config = Object.freeze({
    ...parsed.data,
    AI_TOOLKIT_PORT: parsed.data.AI_TOOLKIT_PORT ?? DEFAULT_PORTS[parsed.data.AI_TOOLKIT_API],
  });
  parsedSettings.set(env, config);
  return config;
}
