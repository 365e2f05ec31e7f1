import { z } from "zod";

/**
 * Every setting the Worker reads, validated once per request into one typed object.
 * Each field's description is the documentation: README.md ("Settings") mirrors it.
 */
const optionalText = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const configSchema = z.object({
  /** The owner's password for the /authorize page (a secret). Unset: /authorize refuses. */
  OWNER_PASSWORD: optionalText,
  /** Pins the resource URL tokens are bound to; by default the origin the client connected to + /mcp. */
  MCP_RESOURCE: optionalText.pipe(z.url().optional()),
  /** Tunnel hostname of the toolkit (Access-protected); used when no TOOLKIT binding exists. */
  AI_TOOLKIT_URL: optionalText.pipe(z.url().optional()),
  /** Cloudflare Access service token, sent with every request to AI_TOOLKIT_URL. */
  CF_ACCESS_CLIENT_ID: optionalText,
  CF_ACCESS_CLIENT_SECRET: optionalText,
  /** Direct transport: only reachable from wrangler dev or a Worker on the same network. */
  AI_TOOLKIT_HOST: z.string().trim().min(1).default("192.168.0.152"),
  AI_TOOLKIT_PORT: z.coerce.number().int().min(1).max(65535).default(8012),
  /** Per-call timeout towards the toolkit, in milliseconds. */
  TOOLKIT_TIMEOUT_MS: positiveInt(30_000),
  /** Where the toolkit keeps datasets; dataset_path must be an absolute path under it. */
  DATASETS_ROOT: z
    .string()
    .trim()
    .regex(/^\/[^\0]*$/, "DATASETS_ROOT must be an absolute path")
    .default("/ai-toolkit/datasets")
    .transform((root) => root.replace(/\/+$/, "")),
});

export type Config = z.infer<typeof configSchema>;

/** The variables and secrets the schema reads, as they appear on `env`. */
type ConfigInput = { [K in keyof z.input<typeof configSchema>]?: unknown };

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function readConfig(env: ConfigInput): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`The Worker's settings are invalid (${problems.join("; ")}). See README.md, "Settings".`);
  }
  return parsed.data;
}
