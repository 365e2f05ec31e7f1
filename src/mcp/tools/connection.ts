import { z } from "zod";
import type { Config } from "../../config";
import { diagnose, formatDiagnosis, type Diagnosis } from "../../toolkit/diagnose";
import { answer, defineTool, readOnly, type DefinedTool } from "../tool";

/** check_connection: which hop between the Worker and the toolkit is broken, and how to fix it. */
export function connectionTools(config: Config): DefinedTool[] {
  return [
    defineTool({
      name: "check_connection",
      title: "Check connection",
      description:
        "Diagnose the path from this Worker to the toolkit (configuration, tunnel, Cloudflare Access, " +
        "toolkit health), say which API answers there (the original bridge or ai-toolkit's UI, and whether " +
        "the UI accepts the token) and how to fix the first broken hop.",
      input: z.object({}),
      output: diagnosisOutput,
      annotations: readOnly,
      async run(_args, { upstream }) {
        const diagnosis = await diagnose(config, upstream.transport);
        // A broken hop is the answer to the question asked, not a failed call.
        return answer(diagnosis, formatDiagnosis(diagnosis));
      },
    }),
  ];
}

/**
 * The diagnosis as published. The Diagnosis type is declared in src/toolkit/diagnose.ts; the
 * check below makes every Diagnosis fit this schema, so the two cannot drift apart silently.
 */
const diagnosisOutput = z.object({
  ok: z.boolean(),
  transport: z.enum(["vpc", "access", "direct"]),
  api: z.enum(["bridge", "ui"]).describe("The API the Worker speaks (AI_TOOLKIT_API)."),
  answering: z
    .enum(["bridge", "ui", "neither"])
    .optional()
    .describe("The API that answered at the target; absent when nothing answered."),
  authenticated: z.boolean().optional().describe("ai-toolkit's UI only: whether it accepted AI_TOOLKIT_AUTH."),
  hops: z.array(
    z.object({
      hop: z.enum(["configuration", "reach", "access", "tunnel", "toolkit"]),
      ok: z.boolean(),
      detail: z.string(),
      fix: z.string().optional(),
    }),
  ),
  version: z.string().optional(),
  latencyMs: z.number().optional(),
});
const diagnosisFits = (diagnosis: Diagnosis): z.input<typeof diagnosisOutput> => diagnosis;
void diagnosisFits;
