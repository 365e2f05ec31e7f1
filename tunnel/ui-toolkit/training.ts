// One simulated training run, the part of BaseSDTrainProcess.run() and DiffusionTrainer's hooks
// that the UI can observe:
//
//   Loading model (and the model's own status lines) -> resume from the newest
//   `<name>*.safetensors` (its training_info.step) -> Loading dataset -> Training, with baseline
//   samples when starting at step 0 or 1 -> per step: checkpoint every save_every, samples every
//   sample_every, learning_rate and loss/loss every log_every, speed_string every
//   performance_log_every, then `step` = steps done and the stop / return_to_queue / save_now /
//   sample_now flags -> final model -> final samples -> "completed" / "Training completed".
//
// Its process (trainer.ts) provides the output, the row updates and the passing of time.

import { readdirSync } from "node:fs";
import path from "node:path";

import { noiseSource } from "../toolkit/noise.ts";
import { formatTqdmLine, pythonExp, TqdmWriter } from "../toolkit/tqdm.ts";
import {
  cleanUpSaves,
  latestSave,
  pad9,
  readTrainingStep,
  writeCheckpoint,
  writeOptimizer,
  writeSample,
} from "./artifacts.ts";
import { LossLog } from "./loss-log.ts";
import type { JobPatch, JobRow } from "./store.ts";
import { DEFAULT_ERROR, type TrainerPlan } from "./trainer-config.ts";

/** SIGINT arrived: Python's KeyboardInterrupt. */
export class KeyboardInterrupt extends Error {}
/** The process is gone without a trace (see trainer-config.ts, vanish_at_step). */
export class Vanished extends Error {}

export interface TrainerIo {
  out(text: string): void;
  /** A raw update of the Job row (only for trainers that report to the UI). */
  update(patch: JobPatch): void;
  /** The row as the trainer would read it, or null. */
  row(): JobRow | null;
  /** Time passing; where SIGINT lands (throws KeyboardInterrupt or Vanished). */
  work(): Promise<void>;
  /** maybe_stop(): throws after writing "stopped" or "queued" when the row asks for it. */
  maybeStop(): void;
}

export class TrainingRun {
  stepNum = 0;
  /** The step recorded by the last checkpoint (or the resume point): where a failed run leaves `step`. */
  lastSaveStep = 0;
  loss: LossLog | undefined;
  private startStep = 0;
  private trainSeconds = 0;
  private lastRefresh = 0;
  private readonly io: TrainerIo;
  private readonly plan: TrainerPlan;
  private readonly bar: TqdmWriter;

  constructor(io: TrainerIo, plan: TrainerPlan) {
    this.io = io;
    this.plan = plan;
    this.bar = new TqdmWriter((text) => io.out(text));
  }

  private status(status: string, info: string): void {
    this.io.update({ status, info });
  }

  async run(): Promise<void> {
    const { io, plan } = this;
    io.maybeStop();
    this.status("running", "Loading model");
    await io.work();
    io.maybeStop();
    for (const phase of ["Loading transformer", "Loading VAE", "Making pipe", "Preparing Model", "Model Loaded"]) {
      io.out(`${phase}\n`);
      this.status("running", phase);
      await io.work();
    }
    this.resume();

    io.maybeStop();
    this.status("running", "Loading dataset");
    const images = countImages(plan.datasetPath);
    io.out(`Dataset: ${plan.datasetPath}\n  -  Preprocessing image dimensions\n  -  Found ${images} images\n`);
    io.out(`Bucket sizes for ${plan.datasetPath}:\n${plan.width}x${plan.height}: ${images} files\n1 buckets made\n`);
    await io.work();
    this.lastSaveStep = this.stepNum;

    const loss = new LossLog(path.join(plan.saveRoot, "loss_log.db"));
    this.loss = loss;
    loss.start();
    io.maybeStop();
    io.update({ step: this.stepNum });
    this.status("running", "Training");

    if (plan.skipFirstSample || plan.disableSampling) io.out("Skipping first sample due to config setting\n");
    else if (this.stepNum <= 1 || plan.forceFirstSample) {
      io.out("Generating baseline samples before training\n");
      await this.sample(this.stepNum);
    }

    const noise = noiseSource(plan.jobName);
    let windowSeconds = 0;
    this.refreshBar(this.stepNum, "", true);
    for (let step = this.stepNum; step < plan.steps; step++) {
      this.stepNum = step;
      const began = Date.now();
      await io.work();
      const seconds = (Date.now() - began) / 1000;
      this.trainSeconds += seconds;
      windowSeconds += seconds;
      if (plan.vanishAtStep !== undefined && step + 1 >= plan.vanishAtStep) throw new Vanished();
      if (plan.failAtStep !== undefined && step + 1 >= plan.failAtStep) await this.fail();
      const value = 0.11 + 0.33 * Math.exp(-4 * ((step + 1) / Math.max(1, plan.steps))) + noise() * 0.03;
      const postfix = `lr: ${pythonExp(plan.lr, 1)} loss: ${pythonExp(value, 3)}`;
      if (step !== this.startStep) {
        if (plan.saveEvery && step % plan.saveEvery === 0) {
          io.out(`\nSaving at step ${step}\n`);
          await this.save(step);
        }
        const sampling = plan.sampleEvery && step >= plan.sampleStartStep && step % plan.sampleEvery === 0;
        if (sampling && !plan.disableSampling) await this.sample(step);
        if (plan.logEvery === null || (plan.logEvery && step % plan.logEvery === 0)) {
          loss.log({ learning_rate: plan.lr, "loss/loss": value });
        }
        if (plan.performanceLogEvery > 0 && step % plan.performanceLogEvery === 0) {
          const rate = windowSeconds > 0 ? plan.performanceLogEvery / windowSeconds : 0;
          if (rate > 0)
            io.update({
              speed_string: rate >= 1 ? `${rate.toFixed(2)} iter/sec` : `${(1 / rate).toFixed(2)} sec/iter`,
            });
          windowSeconds = 0;
        }
      }
      loss.commit(step);
      this.refreshBar(step + 1, postfix, step + 1 === plan.steps);
      this.stepNum = step + 1;
      // end_step_hook
      io.update({ step: this.stepNum });
      io.maybeStop();
      await this.maybeSaveOrSample();
    }
    this.bar.close();
    await this.save();
    if (!plan.disableSampling) await this.sample(this.stepNum);
    io.out("\n");
    loss.finish();
    this.status("completed", "Training completed");
  }

  private resume(): void {
    const { io, plan } = this;
    const latest = latestSave(plan.saveRoot, plan.jobName);
    if (latest !== null) {
      io.out(`#### IMPORTANT RESUMING FROM ${latest} ####\nLoading from ${latest}\n`);
      const step = readTrainingStep(latest);
      if (step !== null && plan.startStep === null) {
        this.stepNum = step;
        this.startStep = step;
        io.out(`Found step ${step} in metadata, starting from there\n`);
      }
    }
    if (plan.startStep !== null) {
      this.stepNum = plan.startStep;
      this.startStep = plan.startStep;
    }
  }

  private async fail(): Promise<never> {
    if (this.plan.error === DEFAULT_ERROR) {
      for (let n = 1; n <= 3; n++) {
        this.io.out(
          `\n\n################################################\n# OOM during training step, skipping batch ${n}/3 #\n`,
        );
        this.io.out("################################################\n\n");
        await this.io.work();
      }
    }
    throw new Error(this.plan.error);
  }

  private async maybeSaveOrSample(): Promise<void> {
    if (!this.plan.reportsToUi) return;
    if (this.io.row()?.save_now) {
      this.io.update({ save_now: false });
      this.io.out(`\nSaving at step ${this.stepNum}\n`);
      await this.save(this.stepNum);
    }
    if (this.io.row()?.sample_now) {
      this.io.update({ sample_now: false });
      this.io.out(`\nSampling at step ${this.stepNum}\n`);
      await this.sample(this.stepNum);
    }
  }

  private refreshBar(n: number, postfix: string, force: boolean): void {
    // tqdm redraws at most every 0.1 s.
    if (!force && Date.now() - this.lastRefresh < 100) return;
    this.lastRefresh = Date.now();
    this.bar.refresh(
      formatTqdmLine({
        desc: this.plan.jobName,
        n,
        total: this.plan.steps,
        elapsedSeconds: this.trainSeconds,
        postfix,
      }),
    );
  }

  /** save(): a checkpoint when given a step, else the final model. */
  private async save(step?: number): Promise<void> {
    const { io, plan } = this;
    io.maybeStop();
    this.status("running", "Saving model");
    if (step !== undefined) this.lastSaveStep = step;
    const file = path.join(plan.saveRoot, `${plan.jobName}${step === undefined ? "" : `_${pad9(step)}`}.safetensors`);
    const epoch = Math.floor(this.stepNum / Math.max(1, countImages(plan.datasetPath)));
    writeCheckpoint(file, {
      name: plan.jobName,
      step: this.stepNum,
      epoch,
      rank: plan.rank,
      alpha: plan.alpha,
      baseModel: plan.baseModel,
      arch: plan.arch,
    });
    io.out(`Saved checkpoint to ${file}\n`);
    const optimizer = path.join(plan.saveRoot, "optimizer.pt");
    writeOptimizer(optimizer);
    io.out(`Saved optimizer to ${optimizer}\n`);
    for (const removed of cleanUpSaves(plan.saveRoot, plan.jobName, plan.keepSaves))
      io.out(`Removing old save: ${removed}\n`);
    await io.work();
    io.maybeStop();
    this.status("running", "Training");
  }

  private async sample(step: number): Promise<void> {
    const { io, plan } = this;
    io.maybeStop();
    const total = plan.prompts;
    this.status("running", `Generating images - 0/${total}`);
    const bar = new TqdmWriter((text) => io.out(text));
    const started = Date.now();
    const line = (n: number): string =>
      formatTqdmLine({
        desc: "Generating Samples",
        n,
        total,
        elapsedSeconds: (Date.now() - started) / 1000,
        postfix: "",
      });
    if (total > 0) bar.refresh(line(0));
    for (let i = 0; i < total; i++) {
      await io.work();
      writeSample(path.join(plan.saveRoot, "samples"), step, i, plan.width, plan.height);
      bar.refresh(line(i + 1));
      io.maybeStop();
      this.status("running", `Generating images - ${i + 1}/${total}`);
    }
    if (total > 0) bar.close();
    io.out("\n");
    io.maybeStop();
    this.status("running", "Training");
  }
}

function countImages(folder: string): number {
  try {
    return readdirSync(folder).filter((file) => /\.(png|jpe?g|webp)$/i.test(file)).length;
  } catch {
    return 0;
  }
}
