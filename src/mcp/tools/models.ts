import { z } from "zod";
import { safeName, toolkitPath } from "../fields";
import { idempotentWrite, readOnly, type ToolGroup } from "../context";
import { guarded, ok, plural } from "../result";

/** export_model, list_exported_models, download_model. */
export const modelTools: ToolGroup = (server, { toolkit }) => {
  server.registerTool(
    "export_model",
    {
      title: "Export model",
      description: "Copy a trained model (outputs/NAME.safetensors, .ckpt or .pt) to a path on the toolkit's machine.",
      inputSchema: z.object({
        model_name: safeName("model_name").describe("Name of the trained model (the configuration's name)"),
        output_path: toolkitPath("output_path").describe("Absolute destination path on the toolkit's machine"),
      }),
      annotations: { ...idempotentWrite, title: "Export model" },
    },
    (args) =>
      guarded(async () => {
        const result = await toolkit.run("export_model", args);
        return ok(result, `Exported "${args.model_name}" to ${result.path}.`);
      }),
  );

  server.registerTool(
    "list_exported_models",
    {
      title: "List models",
      description: "List the trained models on the toolkit with their sizes.",
      inputSchema: z.object({}),
      annotations: { ...readOnly, title: "List models" },
    },
    () =>
      guarded(async () => {
        const result = await toolkit.run("list_exported_models");
        const lines = result.models.map((m) => `- ${m.name}: ${(m.size / 1e6).toFixed(1)} MB`);
        return ok(result, lines.length ? `${plural(lines.length, "model")}:\n${lines.join("\n")}` : "No trained models yet.");
      }),
  );

  server.registerTool(
    "download_model",
    {
      title: "Download model",
      description: "Download a trained model's file.",
      inputSchema: z.object({
        model_name: safeName("model_name").describe("Name of the trained model"),
        encoding: z.enum(["base64", "raw"]).default("base64").describe("How to return the file"),
      }),
      annotations: { ...readOnly, title: "Download model" },
    },
    ({ model_name, encoding }) =>
      guarded(async () => {
        const result = await toolkit.run("download_model", { model_name, encoding });
        return ok(result, `Model "${model_name}": ${result.size} bytes (base64 in structuredContent.data).`);
      }),
  );
};
