// What both local stand-ins (the bridge here, the UI server in ../ui-toolkit) do when started
// as a program: read numbers from the environment, close cleanly on Ctrl-C or SIGTERM, and
// tell whether their file is the program Node was started with.

import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A non-negative number from an environment variable; undefined when unset or empty. */
export function envNumber(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw.trim() === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0)
    throw new Error(`${name} must be a non-negative number, got ${JSON.stringify(raw)}`);
  return value;
}

/** Closes the server on SIGTERM or SIGINT, then exits; a second signal while closing means "now". */
export function closeOnSignals(close: () => Promise<void>, what: string): void {
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(130);
    stopping = true;
    console.error(`${signal}: ${what}`);
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** Runs `main` when `moduleUrl` is the program Node was started with (not a module imported by a test or the launcher). */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  const entry = process.argv[1];
  let isMain = false;
  try {
    isMain = entry !== undefined && realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    isMain = false;
  }
  if (!isMain) return;
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
