// Reading the Worker's settings from a terminal, the way wrangler does: wrangler.toml [vars],
// then .dev.vars (KEY=value lines). Shared by `npm run dev` and `npm run doctor`; plain
// erasable TypeScript so Node runs it without a build step.

import { existsSync, readFileSync } from "node:fs";

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

/** True when wrangler.toml has an uncommented Workers VPC binding named TOOLKIT. */
export function hasVpcBinding(toml: string): boolean {
  const block = toml.search(/^\s*\[\[vpc_services\]\]/m);
  return block >= 0 && /^\s*binding\s*=\s*"TOOLKIT"/m.test(toml.slice(block));
}

/** A .dev.vars file as a map; a missing file is empty. Empty values count as unset. */
export function readDevVars(file: string): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    const value = match?.[2]?.replace(/^(["'])(.*)\1$/, "$2");
    if (match?.[1] && value) vars[match[1]] = value;
  }
  return vars;
}
