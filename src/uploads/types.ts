import type { ToolkitErrorKind } from "../toolkit/errors";
import type { Lease } from "./leases";
import type { UploadKind } from "./rules";

/** The shapes an upload session shows to its routes, its page and the MCP tools. */

export type SessionState =
  /** Accepting files. */
  | "open"
  /** Sending batches to the toolkit (an alarm drives it, so closing the page does not stop it). */
  | "forwarding"
  /** A batch or the final check failed; finalize again to retry what has not arrived. */
  | "failed"
  /** The toolkit confirmed every image. (An abandoned or expired session is simply gone: 404.) */
  | "complete";

export type FileState = "receiving" | "staged" | "sent";

export interface SessionMeta {
  tokenHash: string;
  /** R2 key prefix of everything this session stages; derived from the token hash, never the token. */
  prefix: string;
  datasetName: string;
  defaultCaption: string;
  triggerWord: string;
  createdAt: number;
  expiresAt: number;
  state: SessionState;
  forward: ForwardProgress;
  /** When staged objects of a complete session are removed (UPLOAD_KEEP_STAGED_HOURS). */
  removeStagedAt?: number;
}

export interface ForwardProgress {
  batchesTotal: number;
  batchesDone: number;
  filesSent: number;
  bytesSent: number;
  startedAt?: number;
  /** When forwarding last started or finished a step: a session that stays "forwarding" long after it has stalled. */
  activeAt?: number;
  finishedAt?: number;
  /** Where the toolkit says it wrote the dataset (from its last upload_dataset answer). */
  toolkitPath?: string;
  /** The toolkit's image count for the dataset after the last batch (list_datasets). */
  toolkitImages?: number;
  error?: string;
  /** What kind of toolkit failure `error` is ("timeout", "unreachable", ...), when it is one. */
  errorKind?: ToolkitErrorKind;
}

export interface StagedFile {
  name: string;
  size: number;
  state: FileState;
  format?: string;
  caption: string;
  captionSource?: string;
  /** Part numbers already received, for a file sent in parts. */
  parts?: number[];
  receivedBytes?: number;
}

export interface RejectedFile {
  name: string;
  reason: string;
}

export interface Manifest {
  dataset_name: string;
  state: SessionState;
  created_at: string;
  expires_at: string;
  default_caption: string;
  trigger_word: string;
  files: StagedFile[];
  rejected: RejectedFile[];
  /** Captions received for stems that have no image yet (they pair when the image arrives). */
  unpaired_captions: string[];
  totals: { images: number; staged_bytes: number; receiving: number; sent: number };
  forward: ForwardProgress;
  limits: { file_max_bytes: number; session_max_bytes: number; session_max_files: number; caption_max_chars: number; part_min_bytes: number };
}

/** What create_dataset_upload hands a new session. */
export interface NewSession {
  tokenHash: string;
  datasetName: string;
  defaultCaption: string;
  triggerWord: string;
}

/** Where an admitted file's bytes go in R2, and how many it may have. */
export interface FileTarget {
  name: string;
  kind: UploadKind;
  key: string;
  uploadId?: string;
  /** The most bytes this file may have (the per-image limit for images). */
  maxBytes: number;
  /** The lease on the part about to be written, when one was asked for: release it at the end. */
  lease?: Lease;
}

/** Where a tus upload stands, for the Worker that streams its bytes to R2. */
export interface TusState {
  name: string;
  key: string;
  uploadId: string;
  length: number;
  /** Bytes stored: full parts plus the tail object. */
  offset: number;
  /** Bytes in the tail object, after the full parts. */
  tail: number;
  /** Full parts stored so far (numbered 1..parts). */
  parts: number;
  /** True once the first bytes passed the magic-number check. */
  checked: boolean;
  /** True when the file is already staged whole (or sent). */
  finished: boolean;
  /** The file's own state: "receiving" while the upload is unfinished. */
  fileState: FileState;
}

/** Every session method answers with this, so a route can turn a refusal into its HTTP status. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; status: number; error: string };

export const done = <T>(value: T): Outcome<T> => ({ ok: true, value });
export const refuse = (status: number, error: string): Outcome<never> => ({ ok: false, status, error });
