import { z } from "zod";
import type { Config } from "../../config";
import { createUploadSession, hashToken, TOKEN_PATTERN } from "../../uploads/create";
import { sessionStub } from "../../uploads/session";
import { manifestSchema, type Manifest } from "../../uploads/types";
import { captionText, safeName, triggerWord } from "../fields";
import { additiveWrite, answer, defineTool, readOnly, UserError, type DefinedTool } from "../tool";
import { plural } from "../../common";

/** create_dataset_upload, get_dataset_upload: large datasets through R2 staging. */
export function uploadTools(config: Config): DefinedTool[] {
  return [
    defineTool({
      name: "create_dataset_upload",
      title: "Create dataset upload",
      description:
        "Open a resumable upload session for a (large) LoRA dataset. Returns a secret upload URL (valid " +
        "for a limited time), a browser page to drag and drop images and edit captions, and a curl " +
        "example. Files are staged in R2 and sent to the toolkit in batches on finalize (with auto_forward, " +
        "captioned images go as soon as they arrive).",
      input: z.object({
        dataset_name: safeName("dataset_name").describe("Name of the dataset folder on the toolkit"),
        default_caption: captionText("default_caption", config.UPLOAD_CAPTION_MAX_CHARS)
          .default("")
          .describe("Caption for images that arrive without their own .txt caption"),
        trigger_word: triggerWord.default("").describe("Put first in every caption that does not already contain it"),
        auto_forward: z
          .boolean()
          .default(false)
          .describe(
            "Send each image to the toolkit as soon as it is staged with its caption set (before it or with it), " +
              "while the rest still upload; images without a caption of their own wait for finalize, which sends " +
              "the rest and checks the count. Changing the caption of an image already sent sends it again",
          ),
      }),
      output: createdOutput,
      annotations: additiveWrite,
      async run({ dataset_name, default_caption, trigger_word, auto_forward }, { env, origin }) {
        const created = await createUploadSession(env, origin, {
          datasetName: dataset_name,
          defaultCaption: default_caption,
          triggerWord: trigger_word.trim(),
          autoForward: auto_forward,
        });
        const curl = [
          `curl -T cat_01.png ${created.uploadUrl}/files/cat_01.png`,
          `curl -T cat_01.txt ${created.uploadUrl}/files/cat_01.txt`,
          `curl -X POST ${created.uploadUrl}/finalize`,
        ].join("\n");
        const text = [
          `Upload session for dataset ${dataset_name}, valid until ${created.manifest.expires_at}. Keep ` +
            `the URL secret: it is the only key.`,
          `Browser page (drag and drop, captions, resume): ${created.pageUrl}`,
          `Upload URL: ${created.uploadUrl}`,
          `With curl:\n${curl}`,
          `tus 1.0 clients (tus-js-client, Uppy) can upload images resumably to ${created.tusUrl} ` +
            `(metadata: filename, optionally caption).`,
          ...(auto_forward
            ? [
                `auto_forward is on: each image whose caption is set (PUT ${created.uploadUrl}/captions/<name> ` +
                  `before the image, its .txt first, or tus metadata) goes to the toolkit as soon as it is staged; ` +
                  `finalize sends the rest and checks the count.`,
              ]
            : []),
          `Files over 100 MB go in parts: PUT .../files/<name>/parts/<n> (each but the last at least 5 ` +
            `MiB, all the same size), then POST .../files/<name>/complete. Follow progress with ` +
            `get_dataset_upload.`,
        ].join("\n\n");
        return answer(
          {
            upload_url: created.uploadUrl,
            page_url: created.pageUrl,
            tus_url: created.tusUrl,
            expires_at: created.manifest.expires_at,
            curl_example: curl,
            limits: created.manifest.limits,
          },
          text,
        );
      },
    }),

    defineTool({
      name: "get_dataset_upload",
      title: "Get dataset upload",
      description:
        "Show an upload session: its files, sizes, captions, refused files and how forwarding to the toolkit is going.",
      input: z.object({
        upload_url: z
          .string()
          .min(1, "upload_url must not be empty")
          .max(512, "upload_url must be at most 512 characters")
          .describe("The upload URL returned by create_dataset_upload"),
      }),
      output: manifestSchema,
      annotations: readOnly,
      async run({ upload_url }, { env }) {
        const token = /\/uploads\/([0-9a-f]{32})/.exec(upload_url)?.[1] ?? upload_url.trim();
        if (!TOKEN_PATTERN.test(token))
          throw new UserError(
            "upload_url is not an upload URL from create_dataset_upload (…/uploads/<32 hex characters>)",
          );
        const tokenHash = await hashToken(token);
        const manifest = await sessionStub(env, tokenHash).manifest();
        if (!manifest.ok) throw new UserError(manifest.error);
        return answer(manifest.value, describeManifest(manifest.value));
      },
    }),
  ];
}

const createdOutput = z.object({
  upload_url: z.string(),
  page_url: z.string(),
  tus_url: z.string(),
  expires_at: z.string(),
  curl_example: z.string(),
  limits: manifestSchema.shape.limits,
});

export function describeManifest(m: Manifest): string {
  const lines = [
    `Dataset ${m.dataset_name}: ${m.state}; ${plural(m.totals.images, "image")} staged ` +
      `(${(m.totals.staged_bytes / 1e6).toFixed(1)} MB), ${m.totals.receiving} still arriving in parts; ` +
      `expires ${m.expires_at}.`,
  ];
  if (m.forward.batchesTotal > 0)
    lines.push(
      `Forwarding: batch ${m.forward.batchesDone} of ${m.forward.batchesTotal}, ` +
        `${plural(m.forward.filesSent, "image")} confirmed by the toolkit.`,
    );
  if (m.forward.error) lines.push(`Last error: ${m.forward.error}`);
  if (m.state === "complete")
    lines.push(`The toolkit lists ${m.forward.toolkitImages ?? "?"} images in ${m.dataset_name}.`);
  if (m.rejected.length > 0) lines.push(`Refused: ${m.rejected.map((r) => `${r.name} (${r.reason})`).join("; ")}`);
  if (m.unpaired_captions.length > 0) lines.push(`Captions without an image: ${m.unpaired_captions.join(", ")}`);
  return lines.join("\n");
}
