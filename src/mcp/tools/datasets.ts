import { z } from "zod";
import type { Config } from "../../config";
import { plural } from "../../common";
import { ToolkitError } from "../../toolkit/errors";
import { RETRY_BY_FINALIZE } from "../../uploads/forward";
import { forwardInline } from "../../uploads/inline";
import { safeName } from "../fields";
import { inlineImages } from "../inline-images";
import { answer, defineTool, idempotentWrite, readOnly, UserError, type DefinedTool } from "../tool";

/**
 * Inline images travel inside one MCP request, which is capped at 4 MiB (base64 adds a
 * third); large datasets use upload sessions (create_dataset_upload) instead.
 */
export const INLINE_IMAGE_MAX_BYTES = 2 * 1024 * 1024;
export const INLINE_IMAGES_MAX = 200;

/** upload_dataset, list_datasets. */
export function datasetTools(config: Config): DefinedTool[] {
  return [
    defineTool({
      name: "upload_dataset",
      title: "Upload dataset (inline)",
      description:
        "Upload training images with captions as base64 inside this call. Fine for a few small images; for " +
        "large datasets use create_dataset_upload.",
      input: z.object({
        dataset_name: safeName("dataset_name").describe("Name of the dataset folder on the toolkit"),
        images: inlineImages(INLINE_IMAGE_MAX_BYTES, config.UPLOAD_CAPTION_MAX_CHARS, INLINE_IMAGES_MAX).describe(
          "The images, each with filename, base64 data and caption; file names must differ by more than " +
            "their extension (a.png and a.jpg would share a.txt)",
        ),
      }),
      output: uploadedOutput,
      annotations: idempotentWrite,
      async run({ dataset_name, images }, { env }) {
        const forwarded = await forwardInline(env, dataset_name, images);
        if (!forwarded.ok) throw new UserError(forwarded.error);
        const manifest = forwarded.value;
        if (manifest.state !== "complete") {
          // The private session is gone by now, so there is nothing to finalize again.
          const error = manifest.forward.error?.replace(
            RETRY_BY_FINALIZE,
            "(call upload_dataset again to retry: every image is sent again)",
          );
          throw new ToolkitError(
            manifest.forward.errorKind ?? "tool",
            error ?? `the dataset could not be delivered (state ${manifest.state}): call upload_dataset again`,
          );
        }
        const result = {
          status: "success",
          dataset: dataset_name,
          images_saved: manifest.forward.filesSent,
          path: manifest.forward.toolkitPath ?? `${config.DATASETS_ROOT}/${dataset_name}`,
          batches: manifest.forward.batchesTotal,
        };
        const text = `Saved ${plural(result.images_saved, "image")} to ${result.path}.`;
        return answer({ ...result, images_sent: images.length }, text);
      },
    }),

    defineTool({
      name: "list_datasets",
      title: "List datasets",
      description: "List the datasets on the toolkit with their image counts.",
      input: z.object({}),
      // Relayed as the toolkit answers it (loose: it may add fields).
      output: z.object({ datasets: z.array(z.looseObject({ name: z.string(), images: z.number() })) }),
      annotations: readOnly,
      async run(_args, { upstream }) {
        const result = { datasets: await upstream.listDatasets() };
        const lines = result.datasets.map((d) => `- ${d.name}: ${plural(d.images, "image")}`);
        return answer(
          result,
          lines.length ? `${plural(lines.length, "dataset")}:\n${lines.join("\n")}` : "No datasets yet.",
        );
      },
    }),
  ];
}

/** The original upload_dataset answer, plus how many batches and images the Worker sent. */
const uploadedOutput = z.object({
  status: z.string(),
  dataset: z.string(),
  images_saved: z.number(),
  path: z.string(),
  batches: z.number(),
  images_sent: z.number(),
});
