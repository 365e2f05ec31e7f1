/**
 * What one poll of an upstream says about a training job, as applyObservation (state.ts) takes
 * it: the bridge's status word and log lines, or, from an upstream that tracks its runs itself,
 * a report; and where the poll left off, for the next one.
 */

/** The loss terms logged at one step (a point of the history). */
export interface LossPoint {
  step: number;
  losses: Record<string, number>;
}

/**
 * What an upstream that tracks its own runs says about one (ai-toolkit's UI: the trainer writes
 * step, phase and speed into its job row, and the loss into a log of its own). With a report,
 * the log is only read for the tail and a traceback; without one (the bridge), the log's tqdm
 * bar is the only truth.
 */
export interface RunReport {
  /** The upstream's own status word (the UI's: queued, running, stopping, stopped, completed, error). */
  status: string;
  step: number;
  totalSteps?: number | undefined;
  /** Steps per second. */
  rate?: number | undefined;
  remainingSeconds?: number | undefined;
  /** How long the training bar has run, from the newest progress line new at this poll (none: the last known stays). */
  elapsedSeconds?: number | undefined;
  /** What the trainer is doing, in a few words ("loading model", "sampling 2/4", "saving"). */
  phase?: string | undefined;
  /** 1-based place in the GPU queue while queued. */
  queuePosition?: number | undefined;
  /** The trainer's own error message when it failed. */
  error?: string | undefined;
  /** Set when the upstream says "running" but nothing has moved for long: what that means and how to clear it. */
  stuck?: string | undefined;
  lr?: number | undefined;
  /** The newest value of each loss term (empty when no new point arrived: the last known stay). */
  losses: Record<string, number>;
  /** Loss points new since the previous observation, oldest first. */
  history: readonly LossPoint[];
  /**
   * The log's last lines when the run ended in an error, whether seen at an earlier poll or not:
   * the traceback is often written before the status changes.
   */
  logTail?: readonly string[] | undefined;
}

/** Where an observation left off, so the next asks only for what is new (a log offset, a loss step). */
export type RunCursor = Record<string, number>;

/** One poll's worth of answers from the toolkit. */
export type Observation =
  | {
      kind: "answer";
      status: string;
      progress: number;
      config?: string | undefined;
      logs: readonly string[];
      totalLines?: number | undefined;
      report?: RunReport | undefined;
      cursor?: RunCursor | undefined;
    }
  | { kind: "not_found" }
  | { kind: "unreachable"; message: string };
