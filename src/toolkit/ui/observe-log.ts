import type { UiClient } from "./client";
import type { UiCallOptions } from "./http";
import type { UiLog } from "./schemas";

/**
 * Reading a job's log.txt through the UI's `/log?offset=` a poll at a time: only bytes not seen
 * before, split into lines the way the bridge's logs are (`\r` and `\n`: tqdm redraws with `\r`),
 * bounded per poll, with an unfinished last line left for the next poll.
 */

/** Lines passed on per poll (the newest); the job's stored tail keeps fewer anyway. */
export const LOG_LINES_PER_POLL = 500;
/** Characters kept of one line: a log a stranger writes may hold megabytes without a newline. */
const LINE_CHARS = 2000;
/** An unfinished last line up to this size waits for its end; a longer one is passed on as it is. */
const HELD_BYTES = 16 * 1024;
/**
 * After this long without a poll, the log is read from its tail instead of from the offset: the
 * bytes since could be more than one poll reads within its time-out (tqdm writes ~1.5 kB/s).
 */
export const LOG_GAP_MS = 30 * 60_000;
/** How far back the log is read again when a run failed, for the traceback printed before the status changed. */
const FAILURE_TAIL_BYTES = 16 * 1024;
/** What the UI's log route answers when it cannot read the file (with offset 0 and reset). */
const UNREADABLE = "Error reading log file";

export interface LogRead {
  /** Lines new at this poll, oldest first. */
  lines: string[];
  /** Where the next poll reads from; undefined: from the tail. */
  offset: number | undefined;
  /** True when bytes were appended since the previous poll (the trainer is alive). */
  grew: boolean;
  /** The text read (for the failure tail when it was already the log's tail). */
  answer: UiLog;
}

/** The log's lines since `seen` (a byte offset a previous read returned), or its tail. */
export async function readNewLog(
  client: UiClient,
  jobId: string,
  seen: number | undefined,
  lastPollAt: number | undefined,
  options: UiCallOptions,
  now: number,
): Promise<LogRead> {
  const away = lastPollAt !== undefined && now - lastPollAt > LOG_GAP_MS;
  const answer = await client.log(jobId, away ? undefined : seen, options);
  if (answer.reset && answer.offset === 0 && answer.log === UNREADABLE)
    return { lines: [], offset: undefined, grew: false, answer };
  const { segments, rest } = splitSegments(answer.log);
  const restBytes = rest === "" ? 0 : new TextEncoder().encode(rest).byteLength;
  const hold = restBytes > 0 && restBytes <= HELD_BYTES;
  if (!hold && rest.trim() !== "") segments.push(rest.trimEnd());
  return {
    lines: segments.slice(-LOG_LINES_PER_POLL).map(clipLine),
    offset: Math.max(0, answer.offset - (hold ? restBytes : 0)),
    grew: !answer.reset && answer.log !== "",
    answer,
  };
}

/**
 * The log's last lines, seen before or not, for a run that ended in an error: its traceback is
 * often written at an earlier poll than the status that says it failed.
 */
export async function readLogTail(
  client: UiClient,
  jobId: string,
  read: LogRead,
  options: UiCallOptions,
): Promise<string[]> {
  let text = read.answer.log;
  if (!read.answer.reset) {
    const start = Math.max(0, read.answer.offset - FAILURE_TAIL_BYTES);
    text = (await client.log(jobId, start, options)).log;
    // Reading from the middle of the file: the first line is cut.
    if (start > 0) text = text.slice(text.search(/[\r\n]/) + 1);
  }
  const { segments, rest } = splitSegments(text);
  if (rest.trim() !== "") segments.push(rest.trimEnd());
  return segments.slice(-LOG_LINES_PER_POLL).map(clipLine);
}

/** Complete lines (blank ones dropped) and the unfinished text after the last line break. */
function splitSegments(text: string): { segments: string[]; rest: string } {
  const parts = text.split(/\r\n|\r|\n/);
  const rest = parts.pop() ?? "";
  return { segments: parts.map((part) => part.trimEnd()).filter((part) => part.trim() !== ""), rest };
}

function clipLine(line: string): string {
  return line.length <= LINE_CHARS
    ? line
    : `${line.slice(0, LINE_CHARS)}… (${line.length - LINE_CHARS} more characters)`;
}
