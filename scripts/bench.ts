// `npm run bench`: what the Worker adds to a tool call, measured on this machine.
// Starts the local toolkit and wrangler dev (loopback only), signs in like a user, then times,
// interleaved so that the machine's noise falls on every row alike: a plain route of the
// Worker (no token, no toolkit), MCP requests with the OAuth token (ping, tools/list, tool
// calls) and the same toolkit calls made straight to its /mcp/execute. Requests are plain
// fetches on every path, so client-side MCP parsing is not counted as Worker time.
// The overhead row is: tool call through the Worker − plain route − the same call direct.

import { callTool, startStack, type Stack } from "../test/e2e/harness";
import { BENCH_BASE_MODEL, fmt, machine, summarize, type LatencySummary } from "./bench-stats";
import { benchTrainingStatusFanIn } from "./bench-jobs";

const CALLS = Number(process.env.BENCH_CALLS ?? 300);
const WARMUP = 30;

type Probe = { name: string; run: () => Promise<void> };

/** Fails the bench on anything but a 2xx answer, so an error page is never timed as a call. */
async function expectOk(response: Response, what: string): Promise<void> {
  const text = await response.text();
  if (!response.ok || text.includes('"isError":true'))
    throw new Error(`${what}: ${response.status} ${text.slice(0, 300)}`);
}

function probes(stack: Stack, jobId: string): Probe[] {
  let id = 0;
  const mcp =
    (method: string, params: Record<string, unknown> = {}) =>
    async () =>
      expectOk(
        await fetch(`${stack.workerUrl}/mcp`, {
          method: "POST",
          headers: {
            Authorization: `Bearer ${stack.accessToken}`,
            "Content-Type": "application/json",
            Accept: "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-06-18",
          },
          body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
        }),
        method,
      );
  const direct = (tool: string, args: Record<string, unknown>) => async () =>
    expectOk(
      await fetch(`${stack.toolkitUrl}/mcp/execute`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ tool, arguments: args }),
      }),
      `direct ${tool}`,
    );
  return [
    {
      name: "plain route: GET / (no token, no toolkit)",
      run: async () => expectOk(await fetch(`${stack.workerUrl}/`), "GET /"),
    },
    { name: "MCP ping", run: mcp("ping") },
    { name: "MCP tools/list", run: mcp("tools/list") },
    { name: "tool call list_configs (Worker)", run: mcp("tools/call", { name: "list_configs", arguments: {} }) },
    { name: "list_configs direct", run: direct("list_configs", {}) },
    {
      name: "tool call get_training_status (Worker, Durable Object)",
      run: mcp("tools/call", { name: "get_training_status", arguments: { job_id: jobId } }),
    },
    { name: "get_training_status direct", run: direct("get_training_status", { job_id: jobId }) },
  ];
}

/** Runs every probe once per round, rotating the order, and returns each probe's samples. */
async function interleaved(list: Probe[], rounds: number): Promise<number[][]> {
  const samples = list.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < list.length; k++) {
      const index = (round + k) % list.length;
      const started = performance.now();
      await list[index]!.run();
      samples[index]!.push(performance.now() - started);
    }
  }
  return samples;
}

async function main(): Promise<void> {
  const stack = await startStack({ toolkitEnv: { TOOLKIT_SIM_STEP_MS: "200" } });
  try {
    const client = await stack.connect();
    const created = await callTool(client, "create_training_config", {
      name: "bench",
      model_name: BENCH_BASE_MODEL,
      dataset_path: "/ai-toolkit/datasets/bench",
      steps: 100_000,
    });
    if (created.isError) throw new Error(`create_training_config failed: ${created.content[0]?.text}`);
    const started = await callTool(client, "start_training", { config_name: "bench" });
    if (started.isError) throw new Error(`start_training failed: ${started.content[0]?.text}`);
    const jobId = String(started.structuredContent?.job_id);

    const list = probes(stack, jobId);
    await interleaved(list, WARMUP);
    const samples = await interleaved(list, CALLS);
    const stats = samples.map(summarize);
    await callTool(client, "stop_training", { job_id: jobId });

    const by = (name: string) => stats[list.findIndex((p) => p.name.startsWith(name))] as LatencySummary;
    const [plain, tool, direct] = [by("plain route"), by("tool call list_configs"), by("list_configs direct")];
    // The same difference taken within each round, whose requests ran back to back: a drift of the
    // machine's speed over the run then cancels out instead of landing in one row's median.
    const at = (name: string) => samples[list.findIndex((p) => p.name.startsWith(name))]!;
    const [plainRuns, toolRuns, directRuns] = [
      at("plain route"),
      at("tool call list_configs"),
      at("list_configs direct"),
    ];
    const paired = summarize(toolRuns.map((t, round) => t - plainRuns[round]! - directRuns[round]!));
    console.log(`\nPer-request latency, ${CALLS} interleaved rounds after ${WARMUP} warm-up rounds (${machine()})\n`);
    console.log("| request | n | p50 | p95 |");
    console.log("|---|---|---|---|");
    list.forEach((probe, i) =>
      console.log(`| ${probe.name} | ${stats[i]!.n} | ${fmt(stats[i]!.p50)} | ${fmt(stats[i]!.p95)} |`),
    );
    console.log(
      `| **overhead of a tool call** (list_configs Worker − plain route − direct) | | ` +
        `${fmt(tool.p50 - plain.p50 - direct.p50)} | ${fmt(tool.p95 - plain.p95 - direct.p95)} |`,
    );
    console.log(`| the same, taken within each round | ${paired.n} | ${fmt(paired.p50)} | ${fmt(paired.p95)} |`);
  } finally {
    await stack.stop();
  }
}

await main();
if (process.env.BENCH_SKIP_FAN_IN !== "1") await benchTrainingStatusFanIn();
