import { z } from "zod";

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
