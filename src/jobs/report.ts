import type { RunReport } from "./observation";
import type { JobRecord } from "./state";
import { exceptionLine, findTraceback, parseTqdmLine } from "./tqdm";

/**
 * How a job record follows an upstream that tracks its runs itself (ai-toolkit's UI: the trainer
 * writes step, phase and speed into its job row, the loss into a log of its own, and its status
 * only when it really finished or failed). Its report is the truth; the log only explains a
 * failure. Called by applyObservation (state.ts), which owns the rest of the record's life.
 */

/** Lines of the log's end quoted in a failure's reason when it holds no traceback. */
const EXCERPT_LINES = 3;
const EXCERPT_LINE_CHARS = 200;

/**
 * Copies the report's numbers into the record and, unless the job is already over (`terminal`),
 * moves it to the state the upstream's status word means. `newSegments`: the log lines new at
 * this poll.
 */
export function applyReport(
  record: JobRecord,
  report: RunReport,
  newSegments: readonly string[],
  terminal: boolean,
  now: number,
): void {
  // The UI's step goes back to the last checkpoint when a run is stopped: it is the truth, even backwards.
  record.step = report.step;
  if (report.totalSteps !== undefined) record.totalSteps = report.totalSteps;
  setOrDelete(record, "rate", report.rate);
  setOrDelete(record, "remainingSeconds", report.remainingSeconds);
  if (report.elapsedSeconds !== undefined) record.elapsedSeconds = report.elapsedSeconds;
  if (report.lr !== undefined) record.lr = report.lr;
  // Terms may be logged at different steps: a term without a new point keeps its last value.
  if (Object.keys(report.losses).length > 0) record.losses = { ...record.losses, ...report.losses };
  setOrDelete(record, "phase", report.phase);
  delete record.queuePosition;
  delete record.stuck;
  if (!terminal) settle(record, report, newSegments, now);
}

function settle(record: JobRecord, report: RunReport, newSegments: readonly string[], now: number): void {
  switch (report.status) {
    case "queued":
      record.status = "queued";
      setOrDelete(record, "queuePosition", report.queuePosition);
      return;
    case "running":
    case "stopping":
      if (report.stuck !== undefined) {
        record.status = "stuck";
        record.stuck = report.stuck;
      } else record.status = "running";
      return;
    case "stopped":
      record.status = "stopped";
      record.finishedAt = now;
      record.stoppedAt ??= now;
      return;
    case "completed":
      // The UI's trainer writes "completed" only once its loop finished (unlike the bridge,
      // which says so whenever the process exits).
      record.status = "completed";
      record.finishedAt = now;
      return;
    case "error":
      fail(record, report, report.logTail ?? newSegments, now);
      return;
    default:
      record.status = record.step > 0 ? "running" : "starting";
  }
}

function fail(record: JobRecord, report: RunReport, log: readonly string[], now: number): void {
  record.status = "failed";
  record.finishedAt = now;
  const message = clip(report.error?.trim() || "the trainer stopped with an error and gave no message", 1000);
  const traceback = findTraceback(log);
  let detail = "";
  if (traceback !== undefined) {
    record.traceback = traceback;
    const exception = exceptionLine(traceback);
    if (exception && !message.includes(exception)) detail = ` (the log's traceback ends in ${exception})`;
  } else {
    const last = log
      .filter((line) => parseTqdmLine(line) === undefined && line.trim() !== "")
      .slice(-EXCERPT_LINES)
      .map((line) => clip(line.trim(), EXCERPT_LINE_CHARS));
    if (last.length > 0) detail = `; the log ends with: ${last.join(" | ")}`;
  }
  record.reason =
    `the trainer stopped with an error at step ${record.step}: ${message}${detail}. Read the whole log ` +
    `with get_training_logs, fix the cause and start the training again`;
}

function clip(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, chars - 1)}…`;
}

type Optional<T> = { [K in keyof T]-?: undefined extends T[K] ? K : never }[keyof T];

function setOrDelete<K extends Optional<JobRecord>>(record: JobRecord, key: K, value: JobRecord[K] | undefined): void {
  if (value === undefined) delete record[key];
  else record[key] = value;
}
