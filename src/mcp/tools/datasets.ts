import { z } from "zod";
import { inlineImages, safeName } from "../fields";
import { idempotentWrite, readOnly, type ToolGroup } from "../context";
import { guarded, ok, UserError } from "../result";
import { plural } from "../../common";
import { forwardInline, RETRY_BY_FINALIZE } from "../../uploads/forward";
import { ToolkitError } from "../../toolkit/errors";

/**
 * Inline images travel inside one MCP request, which is capped at 4 MiB (base64 adds a
 * third); large datasets use upload sessions (create_dataset_upload) instead.
 */
export const INLINE_IMAGE_MAX_BYTES = 2 * 1024 * 1024;
export const INLINE_IMAGES_MAX = 200;

/** upload_dataset, list_datasets. */
export const datasetTools: ToolGroup = (server, { toolkit, env, config }) => {
  server.registerTool(
    "upload_dataset",
    {
      title: "Upload dataset (inline)",
      description:
        "Upload training images with captions as base64 inside this call. Fine for a few small images; for large datasets use create_dataset_upload.",
      inputSchema: z.object({
        dataset_name: safeName("dataset_name").describe("Name of the dataset folder on the toolkit"),
        images: inlineImages(INLINE_IMAGE_MAX_BYTES, config.UPLOAD_CAPTION_MAX_CHARS, INLINE_IMAGES_MAX).describe(
          "The images, each with filename, base64 data and caption; file names must differ by more than their extension (a.png and a.jpg would share a.txt)",
        ),
      }),
      annotations: { ...idempotentWrite, title: "Upload dataset (inline)" },
    },
    ({ dataset_name, images }) =>
      guarded(async () => {
        const forwarded = await forwardInline(env, dataset_name, images);
        if (!forwarded.ok) throw new UserError(forwarded.error);
        const manifest = forwarded.value;
        if (manifest.state !== "complete") {
          // The private session is gone by now, so there is nothing to finalize again.
          const error = manifest.forward.error?.replace(RETRY_BY_FINALIZE, "(call upload_dataset again to retry: every image is sent again)");
          throw new ToolkitError(manifest.forward.errorKind ?? "tool", error ?? `the dataset could not be delivered (state ${manifest.state}): call upload_dataset again`);
        }
        const result = {
          status: "success",
          dataset: dataset_name,
          images_saved: manifest.forward.filesSent,
          path: manifest.forward.toolkitPath ?? `${config.DATASETS_ROOT}/${dataset_name}`,
          batches: manifest.forward.batchesTotal,
        };
        const text = `Saved ${plural(result.images_saved, "image")} to ${result.path}.`;
        return ok({ ...result, images_sent: images.length }, text);
      }),
  );

  server.registerTool(
    "list_datasets",
    {
      title: "List datasets",
      description: "List the datasets on the toolkit with their image counts.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "List datasets" },
    },
    () =>
      guarded(async () => {
        const result = await toolkit.run("list_datasets");
        const lines = result.datasets.map((d) => `- ${d.name}: ${plural(d.images, "image")}`);
        return ok(result, lines.length ? `${plural(lines.length, "dataset")}:\n${lines.join("\n")}` : "No datasets yet.");
      }),
  );
};
