import { z } from "zod";
import { TOOLKIT_ERROR_KINDS } from "../toolkit/errors";
import type { Lease } from "./leases";
import type { UploadKind } from "./rules";

/**
 * The shapes an upload session shows to its routes, its page and the MCP tools. What leaves
 * the Worker (the manifest) or is stored as JSON (the session's meta) is a zod schema first,
 * so the MCP layer can publish it as an output schema and the type follows from it.
 */

export const sessionStateSchema = z.enum([
  /** Accepting files. */
  "open",
  /** Sending batches to the toolkit (an alarm drives it, so closing the page does not stop it). */
  "forwarding",
  /** A batch or the final check failed; finalize again to retry what has not arrived. */
  "failed",
  /** The toolkit confirmed every image. (An abandoned or expired session is simply gone: 404.) */
  "complete",
]);
export type SessionState = z.infer<typeof sessionStateSchema>;

export const fileStateSchema = z.enum(["receiving", "staged", "sent"]);
export type FileState = z.infer<typeof fileStateSchema>;

/** The kinds of ToolkitError (toolkit/errors.ts), as a schema. */
const toolkitErrorKindSchema = z.enum(TOOLKIT_ERROR_KINDS);

export const forwardProgressSchema = z.object({
  batchesTotal: z.number(),
  batchesDone: z.number(),
  filesSent: z.number(),
  bytesSent: z.number(),
  startedAt: z.number().optional(),
  /** When forwarding last started or finished a step: a session that stays "forwarding" long after it has stalled. */
  activeAt: z.number().optional(),
  finishedAt: z.number().optional(),
  /** Where the toolkit says it wrote the dataset (from its last upload_dataset answer). */
  toolkitPath: z.string().optional(),
  /** The toolkit's image count for the dataset after the last batch (list_datasets). */
  toolkitImages: z.number().optional(),
  error: z.string().optional(),
  /** What kind of toolkit failure `error` is ("timeout", "unreachable", ...), when it is one. */
  errorKind: toolkitErrorKindSchema.optional(),
});
export type ForwardProgress = z.infer<typeof forwardProgressSchema>;

/** What the session's object stores about itself (as JSON in its meta table). */
export const sessionMetaSchema = z.object({
  tokenHash: z.string(),
  /** R2 key prefix of everything this session stages; derived from the token hash, never the token. */
  prefix: z.string(),
  datasetName: z.string(),
  defaultCaption: z.string(),
  triggerWord: z.string(),
  createdAt: z.number(),
  expiresAt: z.number(),
  state: sessionStateSchema,
  forward: forwardProgressSchema,
  /** When staged objects of a complete session are removed (UPLOAD_KEEP_STAGED_HOURS). */
  removeStagedAt: z.number().optional(),
  /** Captioned images go to the toolkit while the session is still open (see auto-forward.ts). */
  autoForward: z.boolean().optional(),
});
export type SessionMeta = z.infer<typeof sessionMetaSchema>;

export const stagedFileSchema = z.object({
  name: z.string(),
  size: z.number(),
  state: fileStateSchema,
  format: z.string().optional(),
  caption: z.string(),
  captionSource: z.string().optional(),
  /** Part numbers already received, for a file sent in parts. */
  parts: z.array(z.number()).optional(),
  receivedBytes: z.number().optional(),
});
export type StagedFile = z.infer<typeof stagedFileSchema>;

export const rejectedFileSchema = z.object({ name: z.string(), reason: z.string() });
export type RejectedFile = z.infer<typeof rejectedFileSchema>;

/** The session as its owner sees it: GET on the upload URL, the page, and the upload tools' results. */
export const manifestSchema = z.object({
  dataset_name: z.string(),
  state: sessionStateSchema,
  created_at: z.string(),
  expires_at: z.string(),
  default_caption: z.string(),
  trigger_word: z.string(),
  /** Captioned images are sent while the upload is still open, not only after finalize. */
  auto_forward: z.boolean(),
  files: z.array(stagedFileSchema),
  rejected: z.array(rejectedFileSchema),
  /** Captions received for stems that have no image yet (they pair when the image arrives). */
  unpaired_captions: z.array(z.string()),
  totals: z.object({ images: z.number(), staged_bytes: z.number(), receiving: z.number(), sent: z.number() }),
  forward: forwardProgressSchema,
  limits: z.object({
    file_max_bytes: z.number(),
    session_max_bytes: z.number(),
    session_max_files: z.number(),
    caption_max_chars: z.number(),
    part_min_bytes: z.number(),
  }),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** What create_dataset_upload hands a new session. */
export interface NewSession {
  tokenHash: string;
  datasetName: string;
  defaultCaption: string;
  triggerWord: string;
  /** create_dataset_upload's auto_forward. */
  autoForward?: boolean | undefined;
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
