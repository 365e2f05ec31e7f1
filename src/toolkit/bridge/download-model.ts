import { ToolkitError } from "../errors";
import type { CallOptions, ListedModel, ModelBytes } from "../upstream";
import { Base64Error } from "./base64";
import type { ToolkitClient } from "./client";
import { extractBase64Field } from "./download-extract";
import { JsonStreamError } from "./json-stream";
import { isRecord } from "../../common";
import { unwrapEnvelope } from "./operations";

const RETRY_HINT = "nothing was staged; check the toolkit's console and call download_model again";

/**
 * A model's bytes from the bridge's download_model answer: the whole file as base64 inside one
 * JSON body, parsed and decoded as it streams in (download-extract.ts), so neither the answer
 * nor the file is ever held in memory. The envelope's verdict and size come last and are
 * checked by `verify`.
 */
export async function openBridgeModel(
  client: ToolkitClient,
  name: string,
  listed: ListedModel | undefined,
  options: CallOptions,
): Promise<ModelBytes> {
  // The toolkit cannot send raw bytes in JSON: the Worker always asks for base64 and decodes it.
  const request = JSON.stringify({ tool: "download_model", arguments: { model_name: name, encoding: "base64" } });
  const response = await client.execute("download_model", request, options);
  if (!response.body)
    throw new ToolkitError("protocol", `the toolkit answered download_model with an empty body: ${RETRY_HINT}`);
  const { data, envelope } = extractBase64Field(response.body, ["result", "data"]);
  envelope.catch(() => undefined);
  return {
    body: explained(data, name),
    ...(listed ? { filename: basename(listed.path) } : {}),
    async verify(size) {
      let result: unknown;
      try {
        result = unwrapEnvelope("download_model", await envelope);
      } catch (error) {
        throw explain(error, name);
      }
      const reported = isRecord(result) ? result.size : undefined;
      if (typeof reported !== "number")
        throw new ToolkitError(
          "protocol",
          `the toolkit's download_model answer has no numeric result.size: ${RETRY_HINT}`,
        );
      if (reported !== size) {
        throw new ToolkitError(
          "protocol",
          `the toolkit reported ${reported} bytes for "${name}" but sent ${size}: the file may have changed during ` +
            `the download; ${RETRY_HINT}`,
        );
      }
    },
  };
}

/** The decoded bytes, with parser and decoder failures worded as the toolkit errors tools know how to show. */
function explained(data: ReadableStream<Uint8Array>, name: string): ReadableStream<Uint8Array> {
  const reader = data.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          controller.error(explain(error, name));
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

function explain(error: unknown, name: string): unknown {
  if (error instanceof JsonStreamError) {
    return new ToolkitError(
      "protocol",
      `the toolkit's answer to download_model for "${name}" was cut off or is not its JSON envelope ` +
        `(${error.message}): ${RETRY_HINT}`,
    );
  }
  if (error instanceof Base64Error) {
    return new ToolkitError(
      "protocol",
      `the model data the toolkit sent for "${name}" is not valid base64 (${error.message}): ${RETRY_HINT}`,
    );
  }
  return error;
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1) || path;
}
