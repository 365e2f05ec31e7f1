import { ToolkitClient } from "../../../src/toolkit/bridge/client";
import { BridgeUpstream } from "../../../src/toolkit/bridge/upstream";
import type { ToolkitTransport } from "../../../src/toolkit/transport";
import { formatTqdmLine } from "../../../tunnel/toolkit/tqdm";

/**
 * A toolkit that answers /mcp/execute exactly as docs/toolkit-protocol.md describes, driven by the
 * test: jobs and their log text are set by hand, the toolkit can go down or restart (forgetting
 * its jobs), and every call is counted. Nothing leaves the isolate.
 */
export interface ScriptedJob {
  status: "running" | "completed" | "stopped";
  config: string;
  /** The raw log file, with tqdm's `\r` redraws. */
  log: string;
}

export class ScriptedToolkit {
  readonly jobs = new Map<string, ScriptedJob>();
  down = false;
  calls: string[] = [];
  /** Requests that reached the transport, answered or not (retries included). */
  requests = 0;
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Milliseconds each answer takes (to make concurrent callers overlap). */
  delayMs = 0;

  readonly transport: ToolkitTransport = {
    kind: "direct",
    target: "scripted-toolkit",
    fetch: (path, init) => this.answer(path, init),
  };

  readonly client = new BridgeUpstream(new ToolkitClient(this.transport, 5_000));

  restart(): void {
    this.jobs.clear();
  }

  countOf(tool: string): number {
    return this.calls.filter((call) => call === tool).length;
  }

  private async answer(path: string, init: RequestInit | undefined): Promise<Response> {
    this.requests += 1;
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.respond(path, init);
    } finally {
      this.inFlight -= 1;
    }
  }

  private async respond(path: string, init: RequestInit | undefined): Promise<Response> {
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.down) throw new TypeError("connect ECONNREFUSED 127.0.0.1:9");
    if (path !== "/mcp/execute") return Response.json({ status: "healthy" });
    const body = JSON.parse(String(init?.body)) as { tool: string; arguments: Record<string, unknown> };
    this.calls.push(body.tool);
    return Response.json({ success: true, result: this.run(body.tool, body.arguments), error: null });
  }

  private run(tool: string, args: Record<string, unknown>): unknown {
    const id = String(args.job_id ?? "");
    const job = this.jobs.get(id);
    switch (tool) {
      case "get_training_status":
        return job
          ? { status: job.status, job_id: id, progress: 0, config: job.config }
          : { status: "error", message: "Job not found" };
      case "get_training_logs": {
        if (!job) return { job_id: id, logs: [], lines: 0 };
        const lines = textModeLines(job.log);
        const count = Number(args.lines ?? 100);
        return { job_id: id, logs: lines.slice(-count), total_lines: lines.length };
      }
      case "stop_training":
        if (!job || job.status !== "running") return { error: "Job not found or already stopped" };
        job.status = "stopped";
        return { status: "success", job_id: id };
      case "list_training_jobs":
        return { jobs: [...this.jobs].map(([jobId, j]) => ({ job_id: jobId, status: j.status, config: j.config })) };
      case "start_training": {
        const jobId = crypto.randomUUID();
        this.jobs.set(jobId, { status: "running", config: String(args.config_name), log: "" });
        return { status: "success", job_id: jobId, pid: 4242 };
      }
      case "get_config":
        return {
          config: {
            job: "extension",
            config: { process: [{ model: { name_or_path: "black-forest-labs/FLUX.1-dev" }, train: { steps: 100 } }] },
          },
        };
      default:
        return { error: `unknown tool ${tool}` };
    }
  }
}

/** Python text-mode readlines(): `\r`, `\n` and `\r\n` all end a line, read back as `\n`. */
export function textModeLines(text: string): string[] {
  const parts = text.split(/\r\n|\r|\n/);
  const last = parts.pop() ?? "";
  const lines = parts.map((part) => `${part}\n`);
  if (last !== "") lines.push(last);
  return lines;
}

/** A run's log up to `step`, as ai-toolkit writes it: a preamble, then tqdm redraws every `every` steps. */
export function tqdmLog(
  name: string,
  total: number,
  from: number,
  to: number,
  every = 1,
  secondsPerStep = 0.5,
): string {
  let text = "";
  for (let step = from; step <= to; step += every) {
    const loss = 0.1 + 0.3 * Math.exp((-4 * step) / total);
    const postfix = step === 0 ? "" : `lr: 1.0e-04 loss: ${loss.toExponential(3).replace(/e([+-])(\d)$/, "e$10$2")}`;
    text += `\r${formatTqdmLine({ desc: name, n: step, total, elapsedSeconds: step * secondsPerStep, postfix })}`;
  }
  return text;
}

export const PREAMBLE =
  "Running 1 job\n# Running job: my_lora\nLoading Flux model\ncreate LoRA network. base dim (rank): 16, alpha: 16\n";

export const TRACEBACK = [
  "Error running job: CUDA out of memory. Tried to allocate 2.00 GiB",
  "Traceback (most recent call last):",
  '  File "/ai-toolkit/run.py", line 90, in <module>',
  "    main()",
  '  File "/ai-toolkit/jobs/process/BaseSDTrainProcess.py", line 1885, in run',
  "    loss_dict = self.hook_train_loop(batch_list)",
  "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB",
  "",
].join("\n");
