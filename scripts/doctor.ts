// `npm run doctor`: which hop between the Worker and the toolkit is broken, from a terminal.
//
// It reads the Worker's settings the way wrangler does (wrangler.toml [vars], then .dev.vars,
// then the environment), walks the same hops as the check_connection tool, and prints the
// fix for the first one that fails. A Workers VPC binding exists only inside Cloudflare, so
// with one configured it asks the deployed Worker instead: `npm run doctor -- --worker https://...`.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, readConfig } from "../src/config";
import { diagnose, formatDiagnosis } from "../src/toolkit/diagnose";
import { selectTransport } from "../src/toolkit/transport";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The [vars] table of wrangler.toml (flat string values only, which is all it holds). */
export function wranglerVars(toml: string): Record<string, string> {
  const vars: Record<string, string> = {};
  let inVars = false;
  for (const line of toml.split(/\r?\n/)) {
    const table = /^\s*\[+([^\]]+)\]+\s*$/.exec(line);
    if (table) inVars = table[1]?.trim() === "vars";
    const entry = inVars ? /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/.exec(line) : null;
    if (entry?.[1]) vars[entry[1]] = entry[2] ?? "";
  }
  return vars;
}

export function hasVpcBinding(toml: string): boolean {
  return /^\s*\[\[vpc_services\]\]/m.test(toml) && /^\s*binding\s*=\s*"TOOLKIT"/m.test(toml.slice(toml.search(/^\s*\[\[vpc_services\]\]/m)));
}

function dotenv(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match?.[1]) vars[match[1]] = (match[2] ?? "").replace(/^(["'])(.*)\1$/, "$2");
  }
  return vars;
}

async function checkDeployedWorker(url: string): Promise<boolean> {
  console.log(`Asking the Worker at ${url} (its /health uses the VPC binding)...`);
  try {
    const response = await fetch(new URL("/health", url));
    const body = (await response.json()) as { toolkit?: { transport?: string; reachable?: boolean; latency_ms?: number; version?: string } };
    const toolkit = body.toolkit ?? {};
    console.log(`ok   worker: answered /health (transport: ${toolkit.transport ?? "?"})`);
    if (toolkit.reachable) {
      console.log(`ok   toolkit: ${toolkit.version ?? "?"} answered in ${toolkit.latency_ms ?? "?"} ms`);
      return true;
    }
    console.log("FAIL toolkit: the Worker cannot reach the toolkit through its binding.");
    console.log("     fix: call the check_connection tool from your MCP client for the failing hop, or see tunnel/README.md, \"Diagnosis\".");
    return false;
  } catch (error) {
    console.log(`FAIL worker: ${url} did not answer /health (${error instanceof Error ? error.message : String(error)})`);
    console.log("     fix: check the URL and that the Worker is deployed (npx wrangler deploy).");
    return false;
  }
}

async function main(): Promise<number> {
  const toml = readFileSync(path.join(root, "wrangler.toml"), "utf8");
  const workerFlag = process.argv.indexOf("--worker");
  const workerUrl = workerFlag > 0 ? process.argv[workerFlag + 1] : process.env.DOCTOR_WORKER_URL;
  if (hasVpcBinding(toml)) {
    console.log("ok   configuration: Workers VPC binding TOOLKIT is set in wrangler.toml");
    if (!workerUrl) {
      console.log("     A VPC binding works only inside Cloudflare: run `npm run doctor -- --worker https://<your worker>`");
      console.log("     or call the check_connection tool from your MCP client.");
      return 0;
    }
    return (await checkDeployedWorker(workerUrl)) ? 0 : 1;
  }
  const settings = { ...wranglerVars(toml), ...dotenv(path.join(root, ".dev.vars")), ...process.env };
  let config;
  try {
    config = readConfig(settings);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.log(`FAIL configuration: ${error.message}`);
    return 1;
  }
  const diagnosis = await diagnose(config, selectTransport(config, undefined));
  console.log(formatDiagnosis(diagnosis));
  if (workerUrl) return (await checkDeployedWorker(workerUrl)) && diagnosis.ok ? 0 : 1;
  return diagnosis.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
