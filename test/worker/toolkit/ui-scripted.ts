import { expect } from "vitest";
import { ToolkitError } from "../../../src/toolkit/errors";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import type { UiJob } from "../../../src/toolkit/ui/schemas";

/**
 * ai-toolkit's UI answering from a script, for unit tests of the UI client. Routes are
 * "METHOD /path" (no query); each answer is a function of the request, or an Error that fetch
 * throws (a network failure). The last answer of a route repeats; an unknown route gets the
 * Next.js 404 page.
 */
export type UiAnswer = ((request: Request, signal: AbortSignal | undefined) => Response | Promise<Response>) | Error;

export class ScriptedUi implements ToolkitTransport {
  readonly kind = "direct" as const;
  readonly target = "http://127.0.0.1:9";
  readonly calls: Request[] = [];
  private readonly routes = new Map<string, UiAnswer[]>();

  on(route: string, ...answers: UiAnswer[]): this {
    this.routes.set(route, answers);
    return this;
  }

  callsTo(route: string): Request[] {
    return this.calls.filter((request) => `${request.method} ${new URL(request.url).pathname}` === route);
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const request = new Request(`http://ui.test${path}`, init);
    this.calls.push(request.clone());
    const route = `${request.method} ${new URL(request.url).pathname}`;
    const queue = this.routes.get(route);
    const answer = queue && queue.length > 1 ? queue.shift() : queue?.[0];
    if (!answer)
      return new Response("<!DOCTYPE html><html><body>404: This page could not be found.</body></html>", {
        status: 404,
        headers: { "content-type": "text/html" },
      });
    if (answer instanceof Error) throw answer;
    return answer(request, init.signal ?? undefined);
  }
}

export const json =
  (body: unknown, status = 200) =>
  () =>
    Response.json(body, { status });

/** An answer that never comes: the request hangs until its signal aborts. */
export const hang: UiAnswer = (_request, signal) =>
  new Promise((_resolve, reject) => signal?.addEventListener("abort", () => reject(signal.reason)));

/** A body that sends `first` and then nothing, ever (until cancelled). */
export function stallingBody(first: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first));
    },
    pull() {
      return new Promise(() => {});
    },
  });
}

export const JOB_ID = "3f1c2a9e-5b7d-4e2a-9c1f-0a1b2c3d4e5f";

export function jobRow(overrides: Partial<UiJob> = {}): UiJob {
  return {
    id: JOB_ID,
    name: "my_lora",
    gpu_ids: "0",
    job_config: JSON.stringify({
      job: "extension",
      config: { name: "my_lora", process: [{ type: "diffusion_trainer", train: { steps: 2000 } }] },
    }),
    created_at: "2026-01-01T10:00:00.000Z",
    updated_at: "2026-01-01T10:00:00.000Z",
    status: "stopped",
    stop: false,
    return_to_queue: false,
    step: 0,
    total_steps: null,
    info: "",
    speed_string: "",
    queue_position: 1000,
    pid: null,
    job_type: "train",
    job_ref: null,
    save_now: false,
    sample_now: false,
    ...overrides,
  };
}

export async function failureOf(promise: Promise<unknown>): Promise<ToolkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ToolkitError);
  return error as ToolkitError;
}
