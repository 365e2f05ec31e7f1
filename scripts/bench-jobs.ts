// Training-job section of `npm run bench`: 100 concurrent get_training_status calls on one
// running job. How many toolkit requests do they cause, and how fast are they compared with
// one direct toolkit call? Runs its own stack (loopback only) with a counting proxy in front
// of the toolkit, so every request the Worker makes is seen. Also runs alone:
// `npx tsx scripts/bench-jobs.ts`.

import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { callTool, freePort, startStack, type Stack } from "../test/e2e/harness";
import { BENCH_BASE_MODEL, fmt, machine, summarize, timeCalls } from "./bench-stats";

/**
 * A pass-through HTTP proxy in front of the toolkit that counts /mcp/execute calls per tool.
 * The target is read per request because the toolkit's port is known only once it started.
 */
async function countingProxy(
  target: () => string,
): Promise<{ port: number; counts: Map<string, number>; close(): Promise<void> }> {
  const counts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url === "/mcp/execute") {
        let tool = "(unparsable)";
        try {
          tool = String((JSON.parse(body.toString("utf8")) as { tool?: unknown }).tool);
        } catch {
          // counted as unparsable
        }
        counts.set(tool, (counts.get(tool) ?? 0) + 1);
      }
      const url = new URL(req.url ?? "/", target());
      const upstream = httpRequest(
        url,
        { method: req.method, headers: { ...req.headers, host: url.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", () => res.writeHead(502).end());
      upstream.end(body);
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { port, counts, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const total = (counts: Map<string, number>) => [...counts.values()].reduce((sum, n) => sum + n, 0);

async function timedStatus(client: Client, jobId: string): Promise<number> {
  const started = performance.now();
  const result = await callTool(client, "get_training_status", { job_id: jobId });
  if (result.isError) throw new Error(`get_training_status failed: ${result.content[0]?.text}`);
  return performance.now() - started;
}

async function fanIn(stack: Stack, counts: Map<string, number>): Promise<string[]> {
  const client = await stack.connect();
  const ok = async (name: string, args: Record<string, unknown>) => {
    const result = await callTool(client, name, args);
    if (result.isError) throw new Error(`${name} failed: ${result.content[0]?.text}`);
    return result.structuredContent ?? {};
  };
  await ok("create_training_config", {
    name: "bench_fan_in",
    model_name: BENCH_BASE_MODEL,
    dataset_path: "/ai-toolkit/datasets/bench",
    steps: 100_000,
  });
  const jobId = String((await ok("start_training", { config_name: "bench_fan_in" })).job_id);
  for (let i = 0; i < 50 && (await ok("get_training_status", { job_id: jobId })).status !== "running"; i++) {
    await new Promise((r) => setTimeout(r, 300));
  }

  const direct = summarize(
    await timeCalls(100, () =>
      fetch(`${stack.toolkitUrl}/mcp/execute`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tool: "get_training_status", arguments: { job_id: jobId } }),
      }).then((r) => r.json()),
    ),
  );

  // Ten connected clients, ten calls each, all at once.
  const clients = await Promise.all(Array.from({ length: 10 }, () => stack.connect()));
  const rows: string[] = [];
  // One unmeasured burst first, so the measured ones do not include warming up the isolate.
  await Promise.all(clients.flatMap((c) => Array.from({ length: 10 }, () => timedStatus(c, jobId))));
  const countsBeforeSequential = total(counts);
  const sequential = summarize(await timeCalls(50, () => timedStatus(client, jobId)));
  const sequentialCaused = total(counts) - countsBeforeSequential;
  for (const [label, settleMs] of [
    ["stale state (last poll older than the 2 s freshness window)", 2_500],
    ["fresh state (right after that burst)", 0],
  ] as const) {
    await new Promise((r) => setTimeout(r, settleMs));
    const before = total(counts);
    const latencies = summarize(
      await Promise.all(clients.flatMap((c) => Array.from({ length: 10 }, () => timedStatus(c, jobId)))),
    );
    rows.push(`| ${label} | 100 | ${total(counts) - before} | ${fmt(latencies.p50)} | ${fmt(latencies.p95)} |`);
  }
  await ok("stop_training", { job_id: jobId });

  return [
    `\n100 concurrent get_training_status calls on one running job (${machine()})\n`,
    "| burst | calls | toolkit requests caused | p50 | p95 |",
    "|---|---|---|---|---|",
    ...rows,
    `| through the Worker, one at a time (for comparison) | 50 | ${sequentialCaused} | ` +
      `${fmt(sequential.p50)} | ${fmt(sequential.p95)} |`,
    `| direct toolkit get_training_status, one at a time (no Worker) | 100 | 100 | ${fmt(direct.p50)} | ` +
      `${fmt(direct.p95)} |`,
    "\nOne toolkit poll is two requests (status, then the log tail). Background polling is set to 60 s " +
      "here so only the bursts are counted.",
  ];
}

export async function benchTrainingStatusFanIn(): Promise<void> {
  let stack: Stack | undefined;
  const proxy = await countingProxy(() => stack?.toolkitUrl ?? "http://127.0.0.1:9");
  try {
    stack = await startStack({
      toolkitEnv: { TOOLKIT_SIM_STEP_MS: "200" },
      workerVars: {
        AI_TOOLKIT_PORT: String(proxy.port),
        TRAINING_POLL_FAST_MS: "60000",
        TRAINING_POLL_INTERVAL_MS: "60000",
      },
    });
    for (const line of await fanIn(stack, proxy.counts)) console.log(line);
  } finally {
    await stack?.stop();
    await proxy.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) await benchTrainingStatusFanIn();
