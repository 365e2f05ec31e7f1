// The queue worker (ui/cron/worker.ts, actions/processQueue.ts, actions/startJob.ts) and the
// table of running trainer "processes".
//
// Every tick (one second upstream), for each queue in id order:
// - queue off: every "running" job on its GPUs gets return_to_queue (and info "Stopping job..."),
//   which the trainer answers by going back to "queued";
// - queue on: nothing while a job on its GPUs is "running" or "stopping" (a stale row blocks it);
//   else the "queued" job with the lowest queue_position starts; with none left, the queue turns
//   itself off.
// Starting a job: the row becomes running / "Starting job..." at once; then the job folder
// `<TRAINING_FOLDER>/<job name>` is made, an existing log.txt moves to logs/<n>_log.txt,
// `.job_config.json` is written (with sqlite_db_path set), the trainer starts with log.txt as its
// output, and its pid goes into the row and pid.txt. A job_config without config.process[0]
// fails right there, unhandled, and leaves the row "running" with no trainer, as upstream. When a
// trainer exits with a non-zero code, "Job process terminated with exit code N." is appended to
// the log and a row still "running" becomes "error" with that message.

import { appendFile, existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";

import type { Settings } from "./settings.ts";
import type { JobRow, Store } from "./store.ts";
import { SimulatedTrainer, type TrainerExit } from "./trainer.ts";

/** An error shaped like the one process.kill throws for a pid that does not exist. */
function noSuchProcess(pid: number): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`kill ESRCH ${pid}`);
  error.code = "ESRCH";
  error.syscall = "kill";
  return error;
}

/** The simulated trainers by pid: the stand-in's process table. */
export class Processes {
  private readonly byPid = new Map<number, SimulatedTrainer>();

  add(trainer: SimulatedTrainer): void {
    this.byPid.set(trainer.pid, trainer);
    const forget = (): void => {
      this.byPid.delete(trainer.pid);
    };
    trainer.exited.then(forget, forget);
  }

  alive(pid: number): boolean {
    return this.byPid.has(pid);
  }

  /** process.kill(pid, "SIGINT"): throws ESRCH when no such trainer runs. */
  interrupt(pid: number): void {
    const trainer = this.byPid.get(pid);
    if (!trainer) throw noSuchProcess(pid);
    trainer.interrupt();
  }

  /** Makes one trainer vanish (tests), or all of them (server close); waits until they are gone. */
  async vanish(pid?: number): Promise<void> {
    const trainers = [...this.byPid.values()].filter((t) => pid === undefined || t.pid === pid);
    for (const trainer of trainers) trainer.vanish();
    await Promise.all(trainers.map((t) => t.exited.catch(() => undefined)));
  }
}

export interface QueueWorkerOptions {
  store: Store;
  settings: Settings;
  processes: Processes;
  /** Default time per simulated step, sample image and loading phase. */
  stepMs: number;
  log?: ((line: string) => void) | undefined;
}

export class QueueWorker {
  private readonly options: QueueWorkerOptions;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly launches = new Set<Promise<void>>();

  constructor(options: QueueWorkerOptions) {
    this.options = options;
  }

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.tick(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all(this.launches);
  }

  /** One pass of processQueue; overlapping ticks are skipped, as upstream. */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      this.processQueue();
    } catch (error) {
      this.options.log?.(`Error in cron worker loop: ${String(error)}`);
    } finally {
      this.running = false;
    }
  }

  private processQueue(): void {
    const { store } = this.options;
    for (const queue of store.queues().sort((a, b) => a.id - b.id)) {
      const onGpus = store.jobs().filter((job) => job.gpu_ids === queue.gpu_ids);
      if (!queue.is_running) {
        for (const job of onGpus.filter((j) => j.status === "running")) {
          store.updateJob(job.id, { return_to_queue: true, info: "Stopping job..." });
        }
        continue;
      }
      if (onGpus.some((job) => job.status === "running" || job.status === "stopping")) continue;
      const next = onGpus
        .filter((job) => job.status === "queued")
        .sort((a, b) => a.queue_position - b.queue_position)[0];
      if (next) this.startJob(next.id);
      else store.setQueueRunning(queue.id, false);
    }
  }

  private startJob(id: string): void {
    const { store } = this.options;
    const job = store.job(id);
    if (!job) return;
    store.updateJob(id, { status: "running", stop: false, return_to_queue: false, info: "Starting job..." });
    const launch = this.launch(job).catch((error: unknown) => {
      this.options.log?.(`Unhandled error starting job ${id}: ${String(error)}`);
    });
    this.launches.add(launch);
    void launch.finally(() => this.launches.delete(launch));
  }

  private async launch(job: JobRow): Promise<void> {
    const { store, settings, processes } = this.options;
    const folder = path.join(settings.trainingFolder(), job.name);
    mkdirSync(folder, { recursive: true });
    const configPath = path.join(folder, ".job_config.json");
    const logPath = path.join(folder, "log.txt");
    rotateLog(folder, logPath);

    // Throws (and leaves the row "running") when job_config has no config.process[0].
    const jobConfig = JSON.parse(job.job_config) as { config: { process: Array<Record<string, unknown>> } };
    (jobConfig.config.process[0] as Record<string, unknown>).sqlite_db_path = store.file;
    writeFileSync(configPath, JSON.stringify(jobConfig, null, 2));

    let trainer: SimulatedTrainer;
    try {
      trainer = new SimulatedTrainer({
        jobId: job.id,
        pid: store.nextPid(),
        configPath,
        logPath,
        cwd: settings.root,
        store,
        stepMs: this.options.stepMs,
      });
    } catch (error) {
      // The process could not be started (the log cannot be opened, for one).
      const message = error instanceof Error ? error.message : String(error);
      appendFile(logPath, `Error launching job process: ${message}\n`, () => {});
      store.updateJob(job.id, { status: "error", info: `Error launching job: ${message}` });
      return;
    }
    processes.add(trainer);
    trainer.exited.then(
      (exit) => this.onExit(job.id, logPath, exit),
      () => this.onExit(job.id, logPath, { code: 1 }),
    );
    store.updateJob(job.id, { pid: trainer.pid });
    writeFileSync(path.join(folder, "pid.txt"), String(trainer.pid));
  }

  private onExit(jobId: string, logPath: string, exit: TrainerExit): void {
    if (exit === "vanished" || exit.code === 0) return;
    const message = `Job process terminated with exit code ${exit.code}.`;
    appendFile(logPath, `\n${message}\n`, () => {});
    this.options.store.updateJobIfStatus(jobId, "running", { status: "error", info: message, pid: null });
  }
}

/** An existing log.txt moves to logs/<n>_log.txt, n the first free number. */
function rotateLog(folder: string, logPath: string): void {
  try {
    if (!existsSync(logPath)) return;
    const logs = path.join(folder, "logs");
    mkdirSync(logs, { recursive: true });
    let n = 0;
    while (existsSync(path.join(logs, `${n}_log.txt`))) n++;
    renameSync(logPath, path.join(logs, `${n}_log.txt`));
  } catch {
    // upstream logs the error and carries on
  }
}
