// `npm run bench`: what the Worker adds to a tool call, measured on this machine.
// Starts the local toolkit and wrangler dev (loopback only), signs in like a user, then
// times the same calls through the Worker (MCP over HTTP, OAuth token) and straight to
// the toolkit's /mcp/execute, and prints p50/p95 and their ratio.

import { callTool, startStack } from "../test/e2e/harness";
import { fmt, machine, summarize, timeCalls, type LatencySummary } from "./bench-stats";
import { benchTrainingStatusFanIn } from "./bench-jobs";

const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const WARMUP = 20;

function row(name: string, worker: LatencySummary, direct: LatencySummary): string {
  return `| ${name} | ${worker.n} | ${fmt(worker.p50)} | ${fmt(worker.p95)} | ${fmt(direct.p50)} | ${fmt(direct.p95)} | ${(worker.p50 / direct.p50).toFixed(1)}x | ${(worker.p95 / direct.p95).toFixed(1)}x |`;
}

async function main(): Promise<void> {
  const stack = await startStack({ toolkitEnv: { TOOLKIT_SIM_STEP_MS: "200" } });
  try {
    const client = await stack.connect();
    const direct = (tool: string, args: Record<string, unknown>) =>
      fetch(`${stack.toolkitUrl}/mcp/execute`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tool, arguments: args }),
      }).then((r) => r.json());

    await callTool(client, "create_training_config", {
      name: "bench", model_name: "sd15", dataset_path: "/ai-toolkit/datasets/bench", steps: 100_000,
    });
    const started = await callTool(client, "start_training", { config_name: "bench" });
    const jobId = String(started.structuredContent?.job_id);

    const results: string[] = [];
    for (const [tool, args] of [["list_configs", {}], ["get_training_status", { job_id: jobId }]] as const) {
      await timeCalls(WARMUP, () => callTool(client, tool, args));
      await timeCalls(WARMUP, () => direct(tool, args));
      const worker = summarize(await timeCalls(CALLS, () => callTool(client, tool, args)));
      const straight = summarize(await timeCalls(CALLS, () => direct(tool, args)));
      results.push(row(tool, worker, straight));
    }
    await callTool(client, "stop_training", { job_id: jobId });

    console.log(`\nLatency through the Worker vs straight to the toolkit (${machine()})\n`);
    console.log("| call | n | Worker p50 | Worker p95 | direct p50 | direct p95 | ratio p50 | ratio p95 |");
    console.log("|---|---|---|---|---|---|---|---|");
    for (const line of results) console.log(line);
  } finally {
    await stack.stop();
  }
}

await main();
await benchTrainingStatusFanIn();
