import { z } from "zod";
import { diagnose, formatDiagnosis } from "../../toolkit/diagnose";
import { readOnly, type ToolGroup } from "../context";
import { ok } from "../result";

/** check_connection: which hop between the Worker and the toolkit is broken, and how to fix it. */
export const connectionTools: ToolGroup = (server, { config, toolkit }) => {
  server.registerTool(
    "check_connection",
    {
      title: "Check connection",
      description:
        "Diagnose the path from this Worker to the toolkit (configuration, tunnel, Cloudflare Access, toolkit health) and say how to fix the first broken hop.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "Check connection" },
    },
    async () => {
      const diagnosis = await diagnose(config, toolkit.transport);
      // A broken hop is the answer to the question asked, not a failed call.
      return ok({ ...diagnosis }, formatDiagnosis(diagnosis));
    },
  );
};
