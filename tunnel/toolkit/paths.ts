// Safe path resolution for the local toolkit.
//
// The real toolkit keeps everything under `/ai-toolkit` and reports paths in that form
// (`/ai-toolkit/config/NAME.yaml`). This server keeps the same layout under a data folder of
// the user's choosing and maps the virtual root `/ai-toolkit` onto it, so every path it reports
// looks exactly like the real toolkit's while every file it touches stays inside the data folder.
//
// This is where the server deliberately differs from the original: the original joins names and
// filenames straight onto its folders, so an upload of `../../x.png` lands outside the dataset
// folder. Here every name is checked, every filename loses its directory parts, and every user
// path is resolved and then verified to still be inside the data folder. The checks are lexical;
// the data folder is assumed not to contain symlinks that point out of it.

import path from "node:path";

/** The root the real toolkit lives in; reported paths use it. */
export const VIRTUAL_ROOT = "/ai-toolkit";

/** Folders of ai-toolkit's own layout that this server uses. */
export const FOLDERS = ["config", "datasets", "outputs"] as const;
export type Folder = (typeof FOLDERS)[number];

/**
 * A single path segment usable as a config, dataset or model name: no separators, no `..`,
 * no NUL, not empty. Returns the name unchanged when it is safe, otherwise null.
 */
export function safeName(name: unknown): string | null {
  if (typeof name !== "string") return null;
  if (name === "" || name === "." || name === "..") return null;
  if (name.includes("/") || name.includes("\\") || name.includes("\0")) return null;
  return name;
}

/**
 * A filename from an upload, reduced to its last path segment (both `/` and `\` count as
 * separators, so `..\\..\\x.png` and `/etc/x.png` both become `x.png`). Null when nothing
 * usable remains. Stripping rather than rejecting keeps the image: the caller asked for it to be
 * saved, only not where its path pointed.
 */
export function safeFileName(filename: unknown): string | null {
  if (typeof filename !== "string") return null;
  const last = filename.split(/[\\/]/).pop() ?? "";
  return safeName(last);
}

/** True when `child` is `parent` itself or lies below it (both absolute, normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === "" || (!rel.startsWith("..") && !path.isAbsolute(rel));
}

/** The data folder and the mapping between its real paths and the virtual `/ai-toolkit` ones. */
export class DataLayout {
  readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir);
  }

  dir(folder: Folder): string {
    return path.join(this.root, folder);
  }

  configFile(name: string): string {
    return path.join(this.dir("config"), `${name}.yaml`);
  }

  datasetDir(name: string): string {
    return path.join(this.dir("datasets"), name);
  }

  logFile(jobId: string): string {
    return path.join(this.dir("outputs"), `training_${jobId}.log`);
  }

  /** Where a job's path-resolved copy of its config goes (see trainer.ts). */
  runConfigFile(jobId: string): string {
    return path.join(this.root, "runs", `${jobId}.yaml`);
  }

  /** The path the real toolkit would report for a real path inside the data folder. */
  toVirtual(realPath: string): string {
    const rel = path.relative(this.root, realPath);
    if (rel === "") return VIRTUAL_ROOT;
    return path.posix.join(VIRTUAL_ROOT, ...rel.split(path.sep));
  }

  /**
   * Maps a path a caller gave to a real path inside the data folder, or null when it would leave
   * it. Accepted: virtual absolute paths (`/ai-toolkit/outputs/x`), real absolute paths already
   * inside the data folder, and relative paths (taken relative to `relativeTo`).
   */
  resolveUserPath(userPath: string, relativeTo: string): string | null {
    if (userPath === "" || userPath.includes("\0")) return null;
    let candidate: string;
    if (userPath === VIRTUAL_ROOT || userPath.startsWith(`${VIRTUAL_ROOT}/`)) {
      candidate = path.join(this.root, userPath.slice(VIRTUAL_ROOT.length));
    } else if (path.isAbsolute(userPath)) {
      candidate = path.resolve(userPath);
    } else {
      candidate = path.resolve(relativeTo, userPath);
    }
    return isInside(this.root, candidate) ? candidate : null;
  }

  /**
   * Rewrites every string in a parsed config that names a virtual path (`/ai-toolkit/...`) into
   * the matching real path, so a trainer running against this data folder finds its files. A
   * string that would escape the data folder is left untouched: the trainer will then fail on it
   * the way the real one would.
   */
  realiseConfigPaths(value: unknown): unknown {
    if (typeof value === "string") {
      if (value !== VIRTUAL_ROOT && !value.startsWith(`${VIRTUAL_ROOT}/`)) return value;
      return this.resolveUserPath(value, this.root) ?? value;
    }
    if (Array.isArray(value)) return value.map((item) => this.realiseConfigPaths(item));
    if (value !== null && typeof value === "object") {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = this.realiseConfigPaths(item);
      return out;
    }
    return value;
  }
}
