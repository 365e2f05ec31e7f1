import { ToolkitError } from "../errors";

/**
 * The toolkit answers every /mcp/execute with HTTP 200 and `{success, result, error}`, and a
 * tool that fails inside still says `success: true` with the failure in the result. This is
 * the one place that decides "did it work" (docs/toolkit-protocol.md):
 *   success === true AND result has no `error` key AND result.status !== "error".
 */
export function unwrapEnvelope(tool: string, body: unknown): unknown {
  if (!isRecord(body) || typeof body.success !== "boolean" || !("result" in body)) {
    throw new ToolkitError(
      "protocol",
      `the toolkit's answer to ${tool} is not its {success, result, error} envelope: is AI_TOOLKIT_URL (or the VPC service) pointing at the AI Toolkit server on port 8012? See tunnel/README.md`,
    );
  }
  if (!body.success) {
    const message = typeof body.error === "string" && body.error.trim() !== "" ? body.error.trim() : undefined;
    throw new ToolkitError(
      "tool",
      message
        ? `the toolkit could not run ${tool}: ${message}`
        : `the toolkit could not run ${tool} and gave no reason: look at the toolkit's console on the LAN box`,
    );
  }
  const failure = inBandFailure(body.result);
  if (failure !== undefined) throw new ToolkitError("tool", `the toolkit answered ${tool} with an error: ${failure}`);
  return body.result;
}

/** The message of a failure reported inside a successful envelope, if any. */
export function inBandFailure(result: unknown): string | undefined {
  if (!isRecord(result)) return undefined;
  if ("error" in result && result.error !== null && result.error !== undefined) {
    return String(result.error) || "the toolkit reported an error without a message";
  }
  if (result.status === "error") {
    return typeof result.message === "string" && result.message !== "" ? result.message : "the toolkit reported an error without a message";
  }
  return undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
