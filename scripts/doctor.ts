// `npm run doctor`: which hop between the Worker and the toolkit is broken, from a terminal.
//
// It reads the Worker's settings the way `npm run dev` gives them (wrangler.toml [vars], then
// .dev.vars, then the environment, then what dev adds: with no toolkit configured, the local
// toolkit dev starts; see devWorkerTarget() in local-settings.ts, shared with dev), walks the
// same hops as the check_connection tool, and prints the fix for the first one that fails. A
// Workers VPC binding exists only inside Cloudflare, so with one configured it asks the
// deployed Worker instead: `npm run doctor -- --worker https://...`. `npm run doctor -- --help`
// lists the flags.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError, readConfig, type Config } from "../src/config";
import {
  diagnose,
  formatDiagnosis,
  hopFix,
  UI_TOKEN_FIX,
  upstreamMismatch,
  type HopName,
} from "../src/toolkit/diagnose";
import { selectTransport, type TransportKind } from "../src/toolkit/transport";
import {
  devSettings,
  devWorkerSettings,
  devWorkerTarget,
  hasVpcBinding,
  readDevRun,
  readDevVars,
  UsageError,
  type DevSettings,
  type DevToolkit,
} from "./local-settings.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

interface WorkerHealth {
  toolkit?: {
    transport?: string;
    reachable?: boolean;
    latency_ms?: number;
    version?: string;
    api?: "bridge" | "ui";
    answering?: "bridge" | "ui" | "neither" | null;
    authenticated?: boolean;
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
    console.log(
      `FAIL worker: ${url} did not answer /health (${error instanceof Error ? error.message : String(error)})`,
    );
    console.log("     fix: check the URL and that the Worker is deployed (npx wrangler deploy).");
    return false;
  }
  const toolkit = body.toolkit ?? {};
  const transport = { kind: (toolkit.transport ?? "vpc") as TransportKind, target: "the Worker's toolkit" };
  console.log(`ok   worker: answered /health (transport: ${transport.kind})`);
  const api = toolkit.api ?? "bridge";
  const answering = toolkit.answering ?? undefined;
  for (const { hop, ok } of toolkit.hops ?? []) {
    if (ok) {
      console.log(`ok   ${hop}`);
      continue;
    }
    // The Worker names which API answered: a mismatch or a refused UI token has its own fix.
    const mismatch = hop === "toolkit" && answering ? upstreamMismatch(api, answering, transport) : undefined;
    const refused = hop === "toolkit" && answering === "ui" && api === "ui" && toolkit.authenticated === false;
    const detail = mismatch?.detail ?? (refused ? "ai-toolkit's UI answered but refused the Worker's token" : "");
    console.log(`FAIL ${hop}${detail ? `: ${detail}` : ""}`);
    const fix = mismatch?.fix ?? (refused ? UI_TOKEN_FIX : config && hopFix(hop, config, transport, undefined, "").fix);
    if (fix) console.log(`     fix: ${fix}`);
    console.log("     details: call the check_connection tool from your MCP client.");
  }
  if (toolkit.reachable)
    console.log(
      `The toolkit ${toolkit.version ?? ""} answered the Worker in ${toolkit.latency_ms ?? "?"} ms ` +
        `(${answering === "ui" ? "ai-toolkit's UI" : "the original bridge"}, as AI_TOOLKIT_API says).`,
    );
  return toolkit.reachable === true;
}

const USAGE = `Usage: npm run doctor [-- <flags>]

Walks the hops from the Worker to the toolkit (configuration, reach, Access, tunnel, the
toolkit itself), says which API answers there (the original bridge or ai-toolkit's UI, and
whether the UI accepts AI_TOOLKIT_AUTH), and prints the fix for the first hop that fails,
including what to set when the API answering is not the one AI_TOOLKIT_API names.

It checks the toolkit \`npm run dev\` points the Worker at: the settings in wrangler.toml [vars],
.dev.vars (DEV_VARS_FILE) and the environment; with no toolkit configured there, the local
toolkit dev starts (the one the running \`npm run dev\` recorded, else DEV_TOOLKIT's on
DEV_TOOLKIT_PORT, else the bridge's on 8012).

Flags:
  --worker <url>   also ask the deployed Worker's /health (the only way to check a Workers
                   VPC binding, which exists only inside Cloudflare); default: DOCTOR_WORKER_URL
  --config <file>  read this wrangler configuration instead of wrangler.toml
  -h, --help       print this help and exit

Exit status: 0 the toolkit is reachable, 1 a hop failed, 2 nothing checked (a VPC binding
without --worker), 64 bad command line.`;

/** Exit status for a bad command line (sysexits' EX_USAGE). */
const EXIT_USAGE = 64;

interface CommandLine {
  config?: string | undefined;
  worker?: string | undefined;
}

function readCommandLine(argv: string[]): CommandLine | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      worker: { type: "string" },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  return values.help ? "help" : { config: values.config, worker: values.worker };
}

interface LocalSettings {
  config: Config | undefined;
  /** The local toolkit `npm run dev` runs or would run, when no toolkit is configured, and which upstream it is. */
  localToolkit?: { url: string; api: DevToolkit } | undefined;
  /** pid of the running `npm run dev`, if any. */
  devPid?: number | undefined;
}

/** The Worker's settings under `npm run dev`, as that running dev gave them, or as it would. */
function readSettings(toml: string, dev: DevSettings): LocalSettings {
  const devVars = readDevVars(dev.varsFile);
  const running = readDevRun(dev.dataDir);
  const planned = running ? undefined : devWorkerTarget(toml, devVars, process.env, dev.toolkitPort, dev.toolkit);
  // A running dev's own record says exactly what it gave wrangler dev (its --toolkit and --toolkit-port too).
  const cliVars = running?.cliVars ?? planned?.cliVars ?? {};
  const localToolkit = running
    ? running.toolkitUrl
      ? { url: running.toolkitUrl, api: running.upstream ?? "bridge" }
      : undefined
    : planned?.localToolkit;
  const settings = devWorkerSettings(toml, devVars, process.env, cliVars);
  const local = { localToolkit, devPid: running?.pid };
  try {
    return { config: readConfig(settings), ...local };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.log(`FAIL configuration: ${error.message}`);
    return { config: undefined, ...local };
  }
}

async function main(argv: string[]): Promise<number> {
  let commandLine: CommandLine;
  let dev: DevSettings;
  try {
    const parsed = readCommandLine(argv);
    if (parsed === "help") {
      console.log(USAGE);
      return 0;
    }
    commandLine = parsed;
  } catch (error) {
    // parseArgs reports unknown flags and missing values as TypeErrors (ERR_PARSE_ARGS_*).
    if (!(error instanceof TypeError)) throw error;
    console.error(`npm run doctor: ${error.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    dev = devSettings(root, process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.log(`FAIL configuration: ${error.message}`);
    return 1;
  }
  const toml = readFileSync(path.resolve(root, commandLine.config ?? "wrangler.toml"), "utf8");
  const workerUrl = commandLine.worker ?? process.env.DOCTOR_WORKER_URL;
  const { config, localToolkit, devPid } = readSettings(toml, dev);
  if (hasVpcBinding(toml)) {
    console.log("ok   configuration: Workers VPC binding TOOLKIT is set in wrangler.toml");
    if (!workerUrl) {
      console.log(
        "NOT CHECKED: a VPC binding works only inside Cloudflare. Run `npm run doctor -- --worker " +
          "https://<your worker>`",
      );
      console.log("     or call the check_connection tool from your MCP client.");
      return 2;
    }
    return (await checkDeployedWorker(workerUrl, config)) ? 0 : 1;
  }
  if (!config) return 1;
  const local = localToolkit && {
    ...localToolkit,
    what:
      localToolkit.api === "ui"
        ? `the local stand-in of ai-toolkit's UI at ${localToolkit.url}`
        : `the local toolkit at ${localToolkit.url}`,
    start:
      localToolkit.api === "ui"
        ? "`npm run dev -- --toolkit ui` (or DEV_TOOLKIT=ui npm run dev)"
        : "`npm run dev` (or `node tunnel/toolkit/server.ts`)",
  };
  if (local) {
    console.log(
      devPid !== undefined
        ? `ok   npm run dev (pid ${devPid}) runs with ${local.what}`
        : `note No toolkit is configured, so \`npm run dev\` points the Worker at ${local.what} (npm run dev ` +
            `is not running).`,
    );
  }
  const diagnosis = await diagnose(config, selectTransport(config, undefined));
  if (local && diagnosis.answering === undefined) {
    // Nothing answered: the generic fix (set up the tunnel) is wrong here, the local toolkit is dev's own.
    for (const hop of diagnosis.hops) {
      if (hop.ok || hop.fix === undefined) continue;
      hop.fix =
        devPid !== undefined
          ? `npm run dev (pid ${devPid}) started ${local.what} but it does not answer: look at dev's output, ` +
            `or restart npm run dev.`
          : `The local toolkit runs only while npm run dev does: start ${local.start}, then run npm run ` +
            `doctor again. To check another toolkit, set AI_TOOLKIT_URL or AI_TOOLKIT_HOST in ` +
            `${path.relative(root, dev.varsFile)}.`;
    }
  }
  console.log(formatDiagnosis(diagnosis));
  if (workerUrl) return (await checkDeployedWorker(workerUrl, config)) && diagnosis.ok ? 0 : 1;
  return diagnosis.ok ? 0 : 1;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
