// `npm run doctor`: which hop between the Worker and the toolkit is broken, from a terminal.
//
// It reads the Worker's settings the way wrangler does (wrangler.toml [vars], then .dev.vars,
// then the environment), walks the same hops as the check_connection tool, and prints the
// fix for the first one that fails. A Workers VPC binding exists only inside Cloudflare, so
// with one configured it asks the deployed Worker instead: `npm run doctor -- --worker https://...`.
// `--config <file>` reads another wrangler configuration.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, readConfig, type Config } from "../src/config";
import { diagnose, formatDiagnosis, hopFix, type HopName } from "../src/toolkit/diagnose";
import { selectTransport, type TransportKind } from "../src/toolkit/transport";
import { hasVpcBinding, readDevVars, wranglerVars } from "./local-settings.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface WorkerHealth {
  toolkit?: {
    transport?: string;
    reachable?: boolean;
    latency_ms?: number;
    version?: string;
    hops?: Array<{ hop: HopName; ok: boolean }>;
    failed_hop?: HopName;
  };
}

/** The deployed Worker's own walk (its /health names the hops, never their details). */
async function checkDeployedWorker(url: string, config: Config | undefined): Promise<boolean> {
  console.log(`Asking the Worker at ${url} (its /health walks the same hops from inside Cloudflare)...`);
  let body: WorkerHealth;
  try {
    body = (await (await fetch(new URL("/health", url))).json()) as WorkerHealth;
  } catch (error) {
    console.log(`FAIL worker: ${url} did not answer /health (${error instanceof Error ? error.message : String(error)})`);
    console.log("     fix: check the URL and that the Worker is deployed (npx wrangler deploy).");
    return false;
  }
  const toolkit = body.toolkit ?? {};
  const transport = { kind: (toolkit.transport ?? "vpc") as TransportKind, target: "the Worker's toolkit" };
  console.log(`ok   worker: answered /health (transport: ${transport.kind})`);
  for (const { hop, ok } of toolkit.hops ?? []) {
    if (ok) {
      console.log(`ok   ${hop}`);
      continue;
    }
    console.log(`FAIL ${hop}`);
    if (config) console.log(`     fix: ${hopFix(hop, config, transport, undefined, "").fix}`);
    console.log("     details: call the check_connection tool from your MCP client.");
  }
  if (toolkit.reachable) console.log(`The toolkit ${toolkit.version ?? ""} answered the Worker in ${toolkit.latency_ms ?? "?"} ms.`);
  return toolkit.reachable === true;
}

function readSettings(toml: string): Config | undefined {
  const settings = { ...wranglerVars(toml), ...readDevVars(path.join(root, ".dev.vars")), ...process.env };
  try {
    return readConfig(settings);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.log(`FAIL configuration: ${error.message}`);
    return undefined;
  }
}

async function main(): Promise<number> {
  const flag = (name: string) => {
    const at = process.argv.indexOf(name);
    return at > 0 ? process.argv[at + 1] : undefined;
  };
  const toml = readFileSync(path.resolve(root, flag("--config") ?? "wrangler.toml"), "utf8");
  const workerUrl = flag("--worker") ?? process.env.DOCTOR_WORKER_URL;
  const config = readSettings(toml);
  if (hasVpcBinding(toml)) {
    console.log("ok   configuration: Workers VPC binding TOOLKIT is set in wrangler.toml");
    if (!workerUrl) {
      console.log("NOT CHECKED: a VPC binding works only inside Cloudflare. Run `npm run doctor -- --worker https://<your worker>`");
      console.log("     or call the check_connection tool from your MCP client.");
      return 2;
    }
    return (await checkDeployedWorker(workerUrl, config)) ? 0 : 1;
  }
  if (!config) return 1;
  const diagnosis = await diagnose(config, selectTransport(config, undefined));
  console.log(formatDiagnosis(diagnosis));
  if (workerUrl) return (await checkDeployedWorker(workerUrl, config)) && diagnosis.ok ? 0 : 1;
  return diagnosis.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
