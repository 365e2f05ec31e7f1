// What GET /mcp/tools publishes: the 15 tools of the original, with their JSON Schemas.

import type { JsonObject } from "./common.ts";

export interface ToolDescription {
  name: string;
  description: string;
  parameters: JsonObject;
}

const noParameters: JsonObject = { type: "object", properties: {} };
const str = (description: string): JsonObject => ({ type: "string", description });
const int = (description: string, fallback: number): JsonObject => ({
  type: "integer",
  description,
  default: fallback,
});
const jobId: JsonObject = { type: "object", properties: { job_id: str("Training job ID") }, required: ["job_id"] };

export const TOOL_DESCRIPTIONS: ToolDescription[] = [
  {
    name: "create_training_config",
    description: "Create a new training configuration",
    parameters: {
      type: "object",
      properties: {
        name: str("Configuration name"),
        model_name: str("Base model to train from"),
        dataset_path: str("Path to training dataset"),
        resolution: int("Training resolution", 512),
        steps: int("Number of training steps", 1000),
        rank: int("LoRA rank", 16),
        alpha: int("LoRA alpha", 16),
        low_vram: { type: "boolean", description: "Enable low VRAM mode", default: true },
        trigger_word: str("Trigger word for the LoRA"),
        test_prompts: { type: "array", items: { type: "string" }, description: "Test prompts" },
      },
      required: ["name", "model_name", "dataset_path"],
    },
  },
  { name: "list_configs", description: "List all training configurations", parameters: noParameters },
  {
    name: "get_config",
    description: "Get a specific training configuration",
    parameters: { type: "object", properties: { name: str("Configuration name") }, required: ["name"] },
  },
  {
    name: "upload_dataset",
    description: "Upload images to create a dataset",
    parameters: {
      type: "object",
      properties: {
        dataset_name: str("Name for the dataset"),
        images: {
          type: "array",
          items: {
            type: "object",
            properties: {
              filename: { type: "string" },
              data: str("Base64 encoded image data"),
              caption: str("Image caption"),
            },
            required: ["filename", "data", "caption"],
          },
        },
      },
      required: ["dataset_name", "images"],
    },
  },
  { name: "list_datasets", description: "List all available datasets", parameters: noParameters },
  {
    name: "start_training",
    description: "Start a training job",
    parameters: {
      type: "object",
      properties: { config_name: str("Configuration name to use") },
      required: ["config_name"],
    },
  },
  { name: "get_training_status", description: "Get the status of a training job", parameters: jobId },
  { name: "stop_training", description: "Stop a running training job", parameters: jobId },
  { name: "list_training_jobs", description: "List all training jobs", parameters: noParameters },
  {
    name: "export_model",
    description: "Export a trained model",
    parameters: {
      type: "object",
      properties: {
        model_name: str("Model name"),
        output_path: str("Output path for the exported model (inside /ai-toolkit)"),
      },
      required: ["model_name", "output_path"],
    },
  },
  { name: "list_exported_models", description: "List all exported models", parameters: noParameters },
  {
    name: "download_model",
    description: "Download a trained model",
    parameters: {
      type: "object",
      properties: {
        model_name: str("Model name to download"),
        // The original also lists "raw", which it cannot encode into JSON; only base64 works.
        encoding: { type: "string", enum: ["base64"], default: "base64" },
      },
      required: ["model_name"],
    },
  },
  { name: "get_system_stats", description: "Get system statistics", parameters: noParameters },
  {
    name: "get_training_logs",
    description: "Get training logs for a job",
    parameters: {
      type: "object",
      properties: { job_id: str("Training job ID"), lines: int("Number of lines to retrieve", 100) },
      required: ["job_id"],
    },
  },
  { name: "get_training_info", description: "Get detailed training information", parameters: noParameters },
];
