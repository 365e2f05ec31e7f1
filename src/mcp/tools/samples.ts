import { z } from "zod";
import { plural } from "../../common";
import { sampleContentType, sampleLinks } from "../../samples/links";
import { sampleFileName } from "../../toolkit/upstream";
import { jobId } from "../fields";
import { answer, defineTool, readOnly, type DefinedTool, type Picture } from "../tool";

/** The most samples one answer carries: each brings a preview image. */
const MAX_COUNT = 12;

const sampleOutput = z.object({
  step: z.number().int().describe("The training step the sample was made at"),
  index: z.number().int().describe("Which of the step's sample prompts (0-based)"),
  prompt: z.string().nullable().describe("The prompt it was made from, when the job's config says"),
  url: z
    .string()
    .nullable()
    .describe("Signed, expiring link to the full image (null: a file type the Worker does not serve)"),
  url_expires_at: z.string().nullable().describe("When the link stops working (ISO 8601)"),
  has_thumbnail: z.boolean().describe("Whether a preview of it follows as image content (in the order of samples)"),
});

const samplesOutput = z.object({
  job_id: z.string(),
  steps: z.array(z.number().int()).describe("Every step that has samples, oldest first"),
  samples: z.array(sampleOutput).describe("The samples chosen, oldest first"),
});

/** get_training_samples: what the model is learning to draw, as previews and links to the full images. */
export function sampleTools(): DefinedTool[] {
  return [
    defineTool({
      name: "get_training_samples",
      title: "Training samples",
      description:
        "The sample images a training job made from its test prompts: the newest `count`, or those of one " +
        "`step`. Each comes with its step, prompt, a small preview (image content) and a signed link to the " +
        "full image that expires. Needs ai-toolkit's web UI as upstream (AI_TOOLKIT_API=ui).",
      input: z.object({
        job_id: jobId,
        count: z
          .number()
          .int("count must be a whole number")
          .min(1, "count must be at least 1")
          .max(MAX_COUNT, `count must be at most ${MAX_COUNT}`)
          .default(4)
          .describe(`How many of the newest samples (1-${MAX_COUNT}); ignored when step is given`),
        step: z
          .number()
          .int("step must be a whole number")
          .min(0, "step must not be negative")
          .optional()
          .describe("Only the samples of this step (one of the steps an earlier answer listed)"),
      }),
      output: samplesOutput,
      annotations: readOnly,
      async run({ job_id, count, step }, { upstream, config, env, origin }) {
        const set = await upstream.samples(job_id, { count, step });
        // Links only for the types the route serves; the others are listed without one.
        const files = set.samples.map((sample) => sampleFileName(sample.path));
        const linkable = files.filter((file) => sampleContentType(file) !== undefined);
        const links = await sampleLinks(config, env, origin ?? "", job_id, linkable, Date.now());
        const linkOf = new Map(linkable.map((file, i) => [file, links[i]]));
        const samples = set.samples.map((sample, i) => {
          const link = linkOf.get(files[i] ?? "");
          return {
            step: sample.step,
            index: sample.index,
            prompt: sample.prompt ?? null,
            url: link?.url ?? null,
            url_expires_at: link?.expiresAt ?? null,
            has_thumbnail: sample.thumbnail !== undefined,
          };
        });
        const previews: Picture[] = set.samples.flatMap((sample) =>
          sample.thumbnail ? [{ bytes: sample.thumbnail.bytes, mimeType: sample.thumbnail.mimeType }] : [],
        );
        const lines = samples.map((sample) => {
          const prompt = sample.prompt === null ? "(prompt unknown)" : JSON.stringify(sample.prompt);
          const link = sample.url ?? "(no link: the Worker serves only jpg, png, webp and mp4 samples)";
          return `- step ${sample.step} #${sample.index}: ${prompt} ${link}`;
        });
        const expiry = samples.find((sample) => sample.url_expires_at)?.url_expires_at;
        const text =
          `${plural(samples.length, "sample")} of job ${job_id} ` +
          `(steps with samples: ${set.steps.join(", ")}):\n${lines.join("\n")}` +
          (expiry ? `\nThe links work until ${expiry}; ask again for fresh ones.` : "");
        return answer({ job_id, steps: set.steps, samples }, text, previews);
      },
    }),
  ];
}
