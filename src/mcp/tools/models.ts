import { z } from "zod";
import type { Config } from "../../config";
import { createBase64EncodeStream } from "../../toolkit/bridge/base64";
import { downloadLink, type DownloadLink } from "../../models/links";
import { stageModel, unchangedOnToolkit } from "../../models/stage";
import { listStaged, type StagedModel } from "../../models/staged";
import { exportPath, MODEL_EXTENSIONS, safeName } from "../fields";
import { answer, defineTool, idempotentWrite, readOnly, UserError, type DefinedTool, type ToolContext } from "../tool";
import { plural } from "../../common";

/** export_model, list_exported_models, download_model. */
export function modelTools(config: Config): DefinedTool[] {
  return [
    defineTool({
      name: "export_model",
      title: "Export model",
      description:
        "Copy a trained model (outputs/NAME.safetensors, .ckpt or .pt) to a file in the toolkit's exports " +
        "folder; with stage: true, also stage it in R2 and return a signed download link.",
      input: z.object({
        model_name: safeName("model_name").describe("Name of the trained model (the configuration's name)"),
        output_path: exportPath(config.EXPORT_ROOT).describe(
          `Destination file, directly inside the exports folder ${config.EXPORT_ROOT}/ (EXPORT_ROOT): ` +
            `${config.EXPORT_ROOT}/<name>.${MODEL_EXTENSIONS.join("|")}, e.g. ` +
            `${config.EXPORT_ROOT}/my_lora.safetensors. No subfolders, nothing elsewhere.`,
        ),
        stage: z
          .boolean()
          .default(false)
          .describe(
            "Also bring the model home: stage it in R2 and return a signed download link (as download_model does)",
          ),
      }),
      output: exportedOutput,
      annotations: idempotentWrite,
      async run({ model_name, output_path, stage }, context) {
        const result = await context.upstream.exportModel(model_name, output_path);
        const exported = `Exported "${model_name}" to ${result.path}.`;
        if (!stage) return answer(result, exported);
        const staged = await stageAndLink(context, model_name);
        return answer({ ...result, staged: describeStaged(staged) }, `${exported}\n${stagedText(staged)}`);
      },
    }),

    defineTool({
      name: "list_exported_models",
      title: "List models",
      description:
        "List the trained models on the toolkit with their sizes, marking those already staged in R2 (with " +
        "a fresh download link and when the staged copy expires).",
      input: z.object({}),
      output: modelListOutput,
      annotations: readOnly,
      async run(_args, context) {
        const { upstream, env } = context;
        const listed = await upstream.listModels();
        const now = Date.now();
        const staged = await listStaged(env.STAGING, now);
        const models = await Promise.all(
          listed.map(async (model) => {
            const copy = staged.get(model.name);
            // A copy that no longer matches the file is an older one: download_model will replace it.
            if (!copy || !unchangedOnToolkit(copy, model)) return { ...model, staged: false };
            const link = await downloadLink(context.config, env, context.origin ?? "", copy, now);
            return {
              ...model,
              staged: true,
              staged_until: copy.expiresAt,
              ...(copy.sha256 ? { sha256: copy.sha256 } : {}),
              download_url: link.url,
              link_expires_at: link.expiresAt,
            };
          }),
        );
        const lines = models.map(
          (m) =>
            `- ${m.name}: ${(m.size / 1e6).toFixed(1)} ` +
            `MB${"link_expires_at" in m ? ` (staged, link valid until ${m.link_expires_at})` : ""}`,
        );
        return answer(
          { models },
          lines.length ? `${plural(lines.length, "model")}:\n${lines.join("\n")}` : "No trained models yet.",
        );
      },
    }),

    defineTool({
      name: "download_model",
      title: "Download model",
      description:
        "Bring a trained model home: the Worker streams it from the toolkit into R2 (reusing an unchanged " +
        "copy staged earlier) and answers with a signed, expiring download link, its size, SHA-256 and " +
        'safetensors metadata. With encoding "base64", small models also come inline.',
      input: z.object({
        model_name: safeName("model_name").describe("Name of the trained model"),
        encoding: z
          .enum(["base64", "raw"])
          .default("base64")
          .describe(
            `"base64": also put the file inline in the result when it is small (DOWNLOAD_INLINE_MAX_BYTES, ` +
              `default 2 MiB); "raw": link only`,
          ),
      }),
      output: downloadOutput,
      // Not read-only: it writes the staged copy to R2 (the same copy again when nothing changed).
      annotations: idempotentWrite,
      async run({ model_name, encoding }, context) {
        const staged = await stageAndLink(context, model_name);
        const structured: z.input<typeof downloadOutput> = {
          status: "success",
          model: model_name,
          ...describeStaged(staged),
          encoding: "link",
        };
        let text = stagedText(staged);
        if (encoding === "base64") {
          const size = staged.model.size;
          if (size <= config.DOWNLOAD_INLINE_MAX_BYTES) {
            structured.data = await readBase64(context.env.STAGING, staged.model.key);
            structured.encoding = "base64";
            text += "\nThe file is also inline as base64 in structuredContent.data.";
          } else {
            const why =
              `the model is ${size} bytes, over the ${config.DOWNLOAD_INLINE_MAX_BYTES}-byte limit for ` +
              `inline base64 (DOWNLOAD_INLINE_MAX_BYTES): download it from the link instead`;
            structured.inline_skipped = why;
            text += `\nNot inline: ${why}.`;
          }
        }
        return answer(structured, text);
      },
    }),
  ];
}

/** A staged copy as the tools describe it: where to fetch it, until when, and what it is. */
const stagedOutput = z.object({
  filename: z.string(),
  size: z.number(),
  sha256: z.string(),
  download_url: z.string(),
  link_expires_at: z.string(),
  staged_until: z.string(),
  /** True when an unchanged copy staged earlier was handed out again. */
  reused: z.boolean(),
  safetensors: z.object({ tensors: z.number(), metadata: z.record(z.string(), z.string()) }).optional(),
});

/** The toolkit's export answer, relayed (loose), with the staged copy when one was asked for. */
const exportedOutput = z.looseObject({ status: z.string(), path: z.string(), staged: stagedOutput.optional() });

/** The toolkit's model list, relayed (loose), each model marked staged or not. */
const modelListOutput = z.object({
  models: z.array(
    z.looseObject({
      name: z.string(),
      path: z.string(),
      size: z.number(),
      /** The training job a checkpoint belongs to, and its step. */
      job: z.string().optional(),
      step: z.number().optional(),
      staged: z.boolean(),
      staged_until: z.string().optional(),
      sha256: z.string().optional(),
      download_url: z.string().optional(),
      link_expires_at: z.string().optional(),
    }),
  ),
});

const downloadOutput = stagedOutput.extend({
  status: z.literal("success"),
  model: z.string(),
  /** "base64": the file is inline in `data`; "link": fetch it from download_url. */
  encoding: z.enum(["base64", "link"]),
  data: z.string().optional(),
  /** Why a base64 download came as a link only. */
  inline_skipped: z.string().optional(),
});

interface StagedWithLink {
  model: StagedModel;
  reused: boolean;
  link: DownloadLink;
}

async function stageAndLink(context: ToolContext, name: string): Promise<StagedWithLink> {
  const { model, reused } = await stageModel(
    { bucket: context.env.STAGING, upstream: context.upstream, config: context.config },
    name,
  );
  return {
    model,
    reused,
    link: await downloadLink(context.config, context.env, context.origin ?? "", model, Date.now()),
  };
}

function describeStaged({ model, reused, link }: StagedWithLink): z.infer<typeof stagedOutput> {
  return {
    filename: model.filename,
    size: model.size,
    sha256: model.sha256,
    download_url: link.url,
    link_expires_at: link.expiresAt,
    staged_until: model.expiresAt,
    reused,
    ...(model.safetensors ? { safetensors: model.safetensors } : {}),
  };
}

function stagedText({ model, reused, link }: StagedWithLink): string {
  const mb = (model.size / 1e6).toFixed(1);
  const how = reused ? "already staged (unchanged on the toolkit, nothing re-sent)" : "staged";
  const tensors = model.safetensors ? `, safetensors with ${plural(model.safetensors.tensors, "tensor")}` : "";
  return [
    `Model "${model.name}" (${model.filename}, ${mb} MB${tensors}) ${how}.`,
    `SHA-256: ${model.sha256}`,
    `Download (resumable, valid until ${link.expiresAt}): ${link.url}`,
  ].join("\n");
}

/** Only ever called for files under DOWNLOAD_INLINE_MAX_BYTES, so the text fits in memory. */
async function readBase64(bucket: R2Bucket, key: string): Promise<string> {
  const object = await bucket.get(key);
  if (!object)
    throw new UserError(
      "The staged model disappeared before it could be read (it was replaced meanwhile): call download_model again.",
    );
  return new Response(object.body.pipeThrough(createBase64EncodeStream())).text();
}
