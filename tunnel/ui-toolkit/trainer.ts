// The simulated trainer process: stands in for `python run.py <TRAINING_FOLDER>/<name>/.job_config.json`
// (run.py, jobs/ExtensionJob.py, extensions_built_in/sd_trainer/DiffusionTrainer.py). It runs
// inside the server but behaves like the separate process it stands for: its output goes to
// log.txt through its own file descriptor, it talks to the Job row only through raw updates (no
// updated_at, nothing for a deleted row), it reads the stop / return_to_queue flags where
// DiffusionTrainer does, and SIGINT (the stop route's signal) interrupts it at once, like a
// KeyboardInterrupt. training.ts is the run itself; this file is how it starts and ends:
//
// - finished: exit code 0;
// - SIGINT: status "stopped" / "Job stopped", `step` back to the last checkpoint, exit code 0;
// - the `stop` flag, or `return_to_queue` (its queue was switched off): status "stopped" /
//   "queued" first, then the same as an error but without touching status: exit code 1;
// - an error: status "error" / the message, `step` back to the last checkpoint, run.py's
//   "Error running job" and end message, a traceback, exit code 1;
// - a config run.py cannot load: nothing written to the row at all, exit code 1.
// A trainer of type `sd_trainer` never writes to the row (upstream's older trainer does not).

import { closeSync, openSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

import { stringify } from "yaml";

import type { JobPatch, Store } from "./store.ts";
import { ConfigError, DEFAULT_ERROR, readPlan, type TrainerPlan } from "./trainer-config.ts";
import { KeyboardInterrupt, type TrainerIo, TrainingRun, Vanished } from "./training.ts";

export interface TrainerLaunch {
  jobId: string;
  pid: number;
  configPath: string;
  /** stdout and stderr: appended to, through a descriptor opened at launch. */
  logPath: string;
  /** The ai-toolkit folder, run.py's working directory: relative paths resolve here. */
  cwd: string;
  store: Store;
  /** The stand-in's default; a config's `simulate.step_ms` wins. */
  stepMs: number;
}

/** How the process ended: an exit code, or "vanished" when nobody saw it end. */
export type TrainerExit = { code: number } | "vanished";

const RULE = "========================================";

export class SimulatedTrainer {
  readonly pid: number;
  readonly exited: Promise<TrainerExit>;
  private readonly launch: TrainerLaunch;
  private readonly fd: number;
  private readonly abort = new AbortController();
  private pending: "interrupt" | "vanish" | null = null;
  private plan: TrainerPlan | undefined;
  private training: TrainingRun | undefined;
  private isStopping = false;

  constructor(launch: TrainerLaunch) {
    this.launch = launch;
    this.pid = launch.pid;
    this.fd = openSync(launch.logPath, "a");
    // Started on a later turn, as a spawned process would be: the launcher records the pid first.
    this.exited = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.main());
  }

  /** SIGINT. */
  interrupt(): void {
    this.pending ??= "interrupt";
    this.abort.abort();
  }

  /** Dies without a word: the server is closing, or the simulate.vanish_at_step knob. */
  vanish(): void {
    this.pending = "vanish";
    this.abort.abort();
  }

  private out(text: string): void {
    writeSync(this.fd, text);
  }

  private update(patch: JobPatch): void {
    if (this.plan?.reportsToUi) this.launch.store.trainerUpdate(this.launch.jobId, patch);
  }

  private status(status: string, info: string): void {
    this.update({ status, info });
  }

  /** Work that takes time; where SIGINT (or vanishing) lands. */
  private async work(ms = this.plan?.stepMs ?? this.launch.stepMs): Promise<void> {
    if (this.pending === null) {
      try {
        await sleep(ms, undefined, { signal: this.abort.signal });
      } catch {
        // aborted: fall through to the check below
      }
    }
    if (this.pending === "vanish") throw new Vanished();
    if (this.pending === "interrupt") throw new KeyboardInterrupt();
  }

  /** What the training run sees of its process. */
  private io(): TrainerIo {
    return {
      out: (text) => this.out(text),
      update: (patch) => this.update(patch),
      row: () => this.launch.store.job(this.launch.jobId),
      work: () => this.work(),
      maybeStop: () => this.maybeStop(),
    };
  }

  private maybeStop(): void {
    if (!this.plan?.reportsToUi) return;
    const row = this.launch.store.job(this.launch.jobId);
    if (row?.stop) {
      this.status("stopped", "Job stopped");
      this.isStopping = true;
      throw new Error("Job stopped");
    }
    if (row?.return_to_queue) {
      this.status("queued", "Job queued");
      this.isStopping = true;
      throw new Error("Job returning to queue");
    }
  }

  private async main(): Promise<TrainerExit> {
    try {
      return { code: await this.run() };
    } catch (error) {
      if (error instanceof Vanished) return "vanished";
      throw error;
    } finally {
      this.training?.loss?.abandon();
      closeSync(this.fd);
    }
  }

  private async run(): Promise<number> {
    this.out("Running 1 job\n");
    let plan: TrainerPlan;
    try {
      const config: unknown = JSON.parse(readFileSync(this.launch.configPath, "utf8"));
      plan = readPlan(config, this.launch.cwd);
      this.plan = plan;
      await this.prepare(config, plan);
    } catch (error) {
      if (error instanceof Vanished) throw error;
      // get_job failed: there is no job for run.py's handler to call on_error on.
      const message = error instanceof Error ? error.message : String(error);
      this.out(`Error running job: ${message}\n`);
      this.out("Error running on_error: cannot access local variable 'job' where it is not associated with a value\n");
      return this.failed(error instanceof ConfigError ? "ValueError" : "Exception", message);
    }
    const training = new TrainingRun(this.io(), plan);
    this.training = training;
    try {
      await training.run();
      return 0;
    } catch (error) {
      if (error instanceof Vanished) throw error;
      if (error instanceof KeyboardInterrupt) {
        if (plan.reportsToUi) {
          this.isStopping = true;
          this.status("stopped", "Job stopped");
        }
        this.update({ step: training.lastSaveStep });
        this.out(`\n${RULE}\nJob stopped\n${RULE}\n`);
        return 0;
      }
      const message = error instanceof Error ? error.message : String(error);
      this.out(`Error running job: ${message}\n`);
      if (!this.isStopping) this.status("error", message);
      this.update({ step: training.lastSaveStep });
      return this.failed(message === DEFAULT_ERROR || message === plan.error ? "RuntimeError" : "Exception", message);
    }
  }

  /** print_end_message, then the traceback of the re-raised exception: exit code 1. */
  private failed(kind: string, message: string): number {
    this.out(`\n${RULE}\nResult:\n - 0 completed jobs\n - 1 failure\n${RULE}\n`);
    this.out(
      'Traceback (most recent call last):\n  File "/ai-toolkit/run.py", line 159, in <module>\n    main()\n' +
        '  File "/ai-toolkit/run.py", line 132, in main\n    raise e\n' +
        '  File "/ai-toolkit/run.py", line 120, in main\n    job.run()\n' +
        `${kind}: ${message}\n`,
    );
    return 1;
  }

  /** The job and process constructors: config echo, database notice, "Starting", config.yaml. */
  private async prepare(config: unknown, plan: TrainerPlan): Promise<void> {
    this.out(`${JSON.stringify(plan.processConfig, null, 4)}\n`);
    if (plan.reportsToUi) {
      const db = plan.processConfig.sqlite_db_path;
      this.out(
        `Using SQLite database at ${typeof db === "string" ? db : "./aitk_db.db"}\nJob ID: "${this.launch.jobId}"\n`,
      );
      this.status("running", "Starting");
    }
    await mkdir(plan.saveRoot, { recursive: true });
    writeFileSync(path.join(plan.saveRoot, "config.yaml"), stringify(config));
    this.out(
      `\n#############################################\n# Running job: ` +
        `${plan.jobName}\n#############################################\n\n`,
    );
    this.out("\nRunning  1 process\n");
  }
}
