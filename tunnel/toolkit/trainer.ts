// Training processes and the in-memory job registry.
//
// Jobs live only in memory, exactly like the original's: a restarted server answers
// "Job not found" for every earlier job_id while the files (configs, logs, models) stay. The
// Worker keeps its own durable job state because of this, and its tests rely on the behaviour.
//
// A job runs either ai-toolkit itself (`python run.py CONFIG` in the ai-toolkit folder, when one
// with a run.py is configured) or the simulated trainer (simulated-trainer.ts, with this very
// Node executable). Either way stdout and stderr go straight into
// `outputs/training_<job_id>.log`, and a job is "completed" once its process exits, whatever the
// exit code: the original does not look at it either, so a crash looks like a completed run.

import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { parse, stringify } from "yaml";

import type { DataLayout } from "./paths.ts";

export type JobStatus = "running" | "completed" | "stopped";

export interface Job {
  readonly id: string;
  readonly config: string;
  readonly pid: number;
  readonly logFile: string;
  status: JobStatus;
  /** Kept for diagnostics only; never reported, as in the original. */
  exitCode: number | null;
  readonly exited: Promise<void>;
  readonly child: ChildProcess;
}

export interface TrainerOptions {
  layout: DataLayout;
  /** ai-toolkit checkout; used only when it contains run.py. */
  aiToolkitPath?: string | undefined;
  /** Python to run ai-toolkit with (its venv's, typically). */
  python?: string | undefined;
  /** Extra environment for the simulated trainer (SIM_* knobs), over this process's own. */
  simulatedEnv?: Record<string, string>;
}

/** How long a stopped trainer gets to exit after SIGTERM before SIGKILL, as the original's 10 s. */
const STOP_GRACE_MS = 10_000;

const SIMULATED_TRAINER = fileURLToPath(new URL("./simulated-trainer.ts", import.meta.url));

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();
  private readonly options: TrainerOptions;

  constructor(options: TrainerOptions) {
    this.options = options;
  }

  /** The ai-toolkit folder when it can really train, otherwise null (simulated trainer). */
  realToolkit(): string | null {
    const dir = this.options.aiToolkitPath;
    return dir !== undefined && dir !== "" && existsSync(path.join(dir, "run.py")) ? path.resolve(dir) : null;
  }

  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  activeCount(): number {
    return this.list().filter((job) => job.status === "running").length;
  }

  /** Starts a job for an existing config file. Throws when the process cannot be started. */
  async start(configName: string, configFile: string): Promise<Job> {
    const { layout } = this.options;
    const id = randomUUID();
    const runConfig = await this.writeRunConfig(id, configFile);
    const logFile = layout.logFile(id);
    await mkdir(path.dirname(logFile), { recursive: true });

    const toolkit = this.realToolkit();
    const [command, args, cwd, env] = toolkit
      ? [this.options.python ?? "python", ["run.py", runConfig], toolkit, { ...process.env, PYTHONUNBUFFERED: "1" }]
      : [
          process.execPath,
          // The trainer is TypeScript run by Node's type stripping; its warning must not land in the log.
          ["--disable-warning=ExperimentalWarning", SIMULATED_TRAINER, runConfig],
          layout.root,
          { ...process.env, ...this.options.simulatedEnv },
        ];

    const logFd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      // Detached: the trainer leads its own process group, so stopping it also stops whatever it
      // started (ai-toolkit's dataloader workers).
      child = spawn(command, args, { cwd, env, detached: true, stdio: ["ignore", logFd, logFd] });
    } finally {
      closeSync(logFd);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const error = await new Promise<Error>((resolve) => child.once("error", resolve));
      throw new Error(`Training script not found: ${error.message}`);
    }

    let markExited: () => void = () => {};
    const exited = new Promise<void>((resolve) => {
      markExited = resolve;
    });
    const job: Job = { id, config: configName, pid, logFile, status: "running", exitCode: null, exited, child };
    child.once("exit", (code) => {
      job.exitCode = code;
      if (job.status === "running") job.status = "completed";
      markExited();
      // The path-resolved copy was only for the trainer to read at start; the config stays.
      if (runConfig !== configFile) rm(runConfig, { force: true }).catch(() => {});
    });
    this.jobs.set(id, job);
    return job;
  }

  /** Stops a running job; false when it is unknown or no longer running. */
  async stop(id: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (!job || job.status !== "running") return false;
    job.status = "stopped";
    signalGroup(job, "SIGTERM");
    const timer = setTimeout(() => signalGroup(job, "SIGKILL"), STOP_GRACE_MS);
    await job.exited;
    clearTimeout(timer);
    return true;
  }

  /** Stops every running job (server shutdown). */
  async stopAll(): Promise<void> {
    await Promise.all(this.list().map((job) => this.stop(job.id)));
  }

  /**
   * Configs say `/ai-toolkit/...` like the real toolkit's; the trainer gets a copy whose paths
   * point into the data folder. A config that does not parse is passed as it is, so the trainer
   * fails on it the way ai-toolkit would.
   */
  private async writeRunConfig(id: string, configFile: string): Promise<string> {
    const { layout } = this.options;
    let parsed: unknown;
    try {
      parsed = parse(await readFile(configFile, "utf8"));
    } catch {
      return configFile;
    }
    const runConfig = layout.runConfigFile(id);
    await mkdir(path.dirname(runConfig), { recursive: true });
    await writeFile(runConfig, stringify(layout.realiseConfigPaths(parsed)));
    return runConfig;
  }
}

function signalGroup(job: Job, signal: NodeJS.Signals): void {
  try {
    process.kill(-job.pid, signal);
  } catch {
    // The group is gone already, or the platform has no process groups: signal the child alone.
    job.child.kill(signal);
  }
}
