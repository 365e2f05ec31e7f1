import type { ToolkitTransport } from "../../../src/toolkit/transport";

/**
 * A toolkit that answers from a script, for unit tests of everything above the transport.
 * Each answer is either a result (wrapped in the toolkit's success envelope), a raw
 * Response, or an Error thrown by fetch (a network failure).
 */
export type ScriptedAnswer =
  { result: unknown } | { envelope: unknown } | { response: () => Response } | { throws: Error };

export interface RecordedCall {
  path: string;
  method: string;
  headers: Headers;
  body: unknown;
}

export class ScriptedToolkit implements ToolkitTransport {
  readonly kind = "direct" as const;
  readonly target = "http://127.0.0.1:9";
  readonly calls: RecordedCall[] = [];
  private readonly answers = new Map<string, ScriptedAnswer[]>();

  /** Queue answers for a tool (or "health"); the last one repeats. */
  on(tool: string, ...answers: ScriptedAnswer[]): this {
    this.answers.set(tool, answers);
    return this;
  }

  callsTo(tool: string): RecordedCall[] {
    return this.calls.filter((call) => (call.body as { tool?: string } | undefined)?.tool === tool);
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const text = typeof init.body === "string" ? init.body : undefined;
    const body: unknown = text ? JSON.parse(text) : undefined;
    this.calls.push({ path, method: init.method ?? "GET", headers: new Headers(init.headers), body });
    const key = path === "/health" ? "health" : ((body as { tool?: string } | undefined)?.tool ?? path);
    const queue = this.answers.get(key);
    const answer = queue && queue.length > 1 ? queue.shift() : queue?.[0];
    if (!answer) return Response.json({ success: false, result: null, error: `Unknown tool: ${key}` });
    if ("throws" in answer) throw answer.throws;
    if ("response" in answer) return answer.response();
    if ("envelope" in answer) return Response.json(answer.envelope);
    return Response.json({ success: true, result: answer.result, error: null });
  }
}

/** The bridge's answer to an upload_dataset that saved every one of `saved` images into dataset "ds". */
export function uploadedAnswer(saved: number): Response {
  return Response.json({
    success: true,
    result: { status: "success", dataset: "ds", images_saved: saved, path: "/ai-toolkit/datasets/ds" },
    error: null,
  });
}
