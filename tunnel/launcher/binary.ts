// Finding the cloudflared executable.

import { accessSync, constants, existsSync, statSync } from "node:fs";
import { LauncherError } from "./errors.ts";

const DOWNLOADS = "https://developers.cloudflare.com/cloudflare-one/connections/connect-networks/downloads/";

/** The part of the `cloudflared` npm package's API the launcher uses. */
export interface CloudflaredPackage {
  /** Where the package keeps (or will keep) its binary. */
  readonly bin: string;
  /** Downloads the binary to `to`. */
  install(to: string): Promise<string>;
}

export interface LocateOptions {
  /** CLOUDFLARED_BIN, when set. */
  readonly configured: string | undefined;
  /** Loads the npm package; replaced in tests. */
  readonly importPackage?: () => Promise<unknown>;
  readonly log: (message: string) => void;
}

/**
 * CLOUDFLARED_BIN when set; otherwise the binary of the `cloudflared` npm package, downloaded
 * on first use. The package is imported here, lazily, so that nothing about cloudflared is
 * resolved or downloaded unless the launcher actually needs the package's binary.
 */
export async function locateCloudflared(options: LocateOptions): Promise<string> {
  if (options.configured) {
    return checkExecutable(
      options.configured,
      `CLOUDFLARED_BIN is ${options.configured}, which is not an executable file: fix the path in ` +
        `tunnel/.env, or remove CLOUDFLARED_BIN to use the cloudflared npm package's binary`,
    );
  }

  const pkg = await loadPackage(options.importPackage ?? importCloudflaredPackage);
  if (!existsSync(pkg.bin)) {
    options.log(
      `cloudflared is not downloaded yet: fetching it once to ${pkg.bin} (set CLOUDFLARED_BIN to use your own)`,
    );
    try {
      await pkg.install(pkg.bin);
    } catch (error) {
      throw new LauncherError(
        1,
        `could not download cloudflared (${(error as Error).message}): install it from ${DOWNLOADS} and ` +
          `set CLOUDFLARED_BIN in tunnel/.env to its path`,
      );
    }
  }
  return checkExecutable(
    pkg.bin,
    `the cloudflared npm package's binary ${pkg.bin} is not an executable file: delete it so that it is ` +
      `downloaded again, or set CLOUDFLARED_BIN in tunnel/.env to a cloudflared you installed yourself ` +
      `(${DOWNLOADS})`,
  );
}

function checkExecutable(file: string, problem: string): string {
  try {
    if (!statSync(file).isFile()) throw new Error("not a file");
    accessSync(file, constants.X_OK);
  } catch {
    throw new LauncherError(2, problem);
  }
  return file;
}

async function loadPackage(importPackage: () => Promise<unknown>): Promise<CloudflaredPackage> {
  let loaded: unknown;
  try {
    loaded = await importPackage();
  } catch (error) {
    throw new LauncherError(
      1,
      `the cloudflared npm package is not installed (${(error as Error).message}): run \`npm install\` in ` +
        `tunnel/, or set CLOUDFLARED_BIN in tunnel/.env to a cloudflared you installed yourself ` +
        `(${DOWNLOADS})`,
    );
  }
  // The package is CommonJS: depending on how Node interops, its exports are on the namespace
  // itself or on its `default`.
  const candidates = [loaded, (loaded as { default?: unknown } | null)?.default];
  const pkg = candidates.find(isCloudflaredPackage);
  if (!pkg) {
    throw new LauncherError(
      1,
      "the installed cloudflared npm package has no `bin` and `install` exports: reinstall it (`npm " +
        "install` in tunnel/), or set CLOUDFLARED_BIN in tunnel/.env",
    );
  }
  return pkg;
}

function isCloudflaredPackage(value: unknown): value is CloudflaredPackage {
  const candidate = value as Partial<CloudflaredPackage> | null | undefined;
  return typeof candidate?.bin === "string" && typeof candidate.install === "function";
}

function importCloudflaredPackage(): Promise<unknown> {
  // A variable specifier keeps bundlers and test transformers from resolving the package
  // ahead of time: it is optional until this line runs.
  const specifier = "cloudflared";
  return import(specifier);
}
