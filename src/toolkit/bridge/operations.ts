// What the bridge speaks: its 15 operations with the shape of each result, and the
// {success, result, error} envelope every answer comes in.

import { z } from "zod";
import { isRecord } from "../../common";
import { ToolkitError } from "../errors";

/**
 * The 15 operations of the LAN toolkit (docs/toolkit-protocol.md), each with the shape of its
 * successful result. Shapes are loose on purpose: the toolkit may add fields, and we pass
 * them through; we only insist on the fields the Worker relies on.
 *
 * `reads` marks operations that change nothing on the toolkit: only those may be retried
 * after a transport failure, because a retried start_training would start a second run.
 */

export const operations = {
  create_training_config: {
    reads: false,
    result: z.looseObject({ status: z.string(), config: z.string(), path: z.string() }),
  },
  list_configs: { reads: true, result: z.looseObject({ configs: z.array(z.string()) }) },
  get_config: { reads: true, result: z.looseObject({ config: z.unknown() }) },
  upload_dataset: {
    reads: false,
    result: z.looseObject({ status: z.string(), dataset: z.string(), images_saved: z.number(), path: z.string() }),
  },
  list_datasets: {
    reads: true,
    result: z.looseObject({ datasets: z.array(z.looseObject({ name: z.string(), images: z.number() })) }),
  },
  start_training: {
    reads: false,
    result: z.looseObject({ status: z.string(), job_id: z.string(), pid: z.number().optional() }),
  },
  get_training_status: {
    reads: true,
    result: z.looseObject({
      // "running", "completed" or "stopped" today; any other word is passed on, not refused.
      status: z.string(),
      job_id: z.string(),
      progress: z.number().default(0),
      config: z.string().optional(),
    }),
  },
  stop_training: { reads: false, result: z.looseObject({ status: z.string(), job_id: z.string() }) },
  list_training_jobs: {
    reads: true,
    result: z.looseObject({
      jobs: z.array(z.looseObject({ job_id: z.string(), status: z.string(), config: z.string().optional() })),
    }),
  },
  export_model: { reads: false, result: z.looseObject({ status: z.string(), path: z.string() }) },
  list_exported_models: {
    reads: true,
    result: z.looseObject({
      models: z.array(z.looseObject({ name: z.string(), path: z.string(), size: z.number() })),
    }),
  },
  download_model: {
    reads: true,
    result: z.looseObject({ status: z.string(), model: z.string(), data: z.string(), size: z.number() }),
  },
  get_system_stats: { reads: true, result: z.looseObject({}) },
  get_training_logs: {
    reads: true,
    result: z.looseObject({
      job_id: z.string(),
      logs: z.array(z.string()),
      total_lines: z.number().optional(),
    }),
  },
  get_training_info: { reads: true, result: z.looseObject({}) },
} as const;

export type OperationName = keyof typeof operations;
export type OperationResult<N extends OperationName> = z.infer<(typeof operations)[N]["result"]>;

/**
 * The toolkit answers every /mcp/execute with HTTP 200 and `{success, result, error}`, and a
 * tool that fails inside still says `success: true` with the failure in the result. This is
 * the one place that decides "did it work" (docs/toolkit-protocol.md):
 *   success === true AND result has no `error` key AND result.status !== "error".
 */
export function unwrapEnvelope(tool: string, body: unknown): unknown {
  if (!isRecord(body) || typeof body.success !== "boolean" || !("result" in body)) {
    throw new ToolkitError(
      "protocol",
      `the toolkit's answer to ${tool} is not its {success, result, error} envelope: is AI_TOOLKIT_URL (or ` +
        `the VPC service) pointing at the AI Toolkit server on port 8012? See tunnel/README.md`,
    );
  }
  if (!body.success) {
    const message = typeof body.error === "string" && body.error.trim() !== "" ? body.error.trim() : undefined;
    throw new ToolkitError(
      "tool",
      message
        ? `the toolkit could not run ${tool}: ${message}`
        : `the toolkit could not run ${tool} and gave no reason: look at the toolkit's console on the LAN box`,
    );
  }
  const failure = inBandFailure(body.result);
  if (failure !== undefined) throw new ToolkitError("tool", `the toolkit answered ${tool} with an error: ${failure}`);
  return body.result;
}

/** The message of a failure reported inside a successful envelope, if any. */
export function inBandFailure(result: unknown): string | undefined {
  if (!isRecord(result)) return undefined;
  if ("error" in result && result.error !== null && result.error !== undefined) {
    return String(result.error) || "the toolkit reported an error without a message";
  }
  if (result.status === "error") {
    return typeof result.message === "string" && result.message !== ""
      ? result.message
      : "the toolkit reported an error without a message";
  }
  return undefined;
}
