import type { Config } from "../config";
import { largestImageFor, type BatchMeasure } from "./batches";
import { effectiveCaption } from "./captions";
import { stemOf, uploadKind } from "./rules";
import { R2_MIN_PART_BYTES } from "../r2/multipart";
import type { SessionStore } from "./store";
import type { Manifest, SessionMeta, StagedFile } from "./types";

export function sessionLimits(meta: SessionMeta, config: Config, measure: BatchMeasure): Manifest["limits"] {
  return {
    file_max_bytes: Math.min(
      config.UPLOAD_FILE_MAX_BYTES,
      largestImageFor(meta.datasetName, config.UPLOAD_BATCH_MAX_BYTES, config.UPLOAD_CAPTION_MAX_CHARS, measure),
    ),
    session_max_bytes: config.UPLOAD_SESSION_MAX_BYTES,
    session_max_files: config.UPLOAD_SESSION_MAX_FILES,
    caption_max_chars: config.UPLOAD_CAPTION_MAX_CHARS,
    part_min_bytes: R2_MIN_PART_BYTES,
  };
}

/** The session as its owner sees it: GET on the upload URL, the page and get_dataset_upload. */
export function buildManifest(meta: SessionMeta, store: SessionStore, config: Config, measure: BatchMeasure): Manifest {
  const captions = new Map(store.captions().map((c) => [c.stem, c]));
  const paired = new Set<string>();
  const files: StagedFile[] = [];
  let stagedBytes = 0;
  let receiving = 0;
  let sent = 0;
  for (const row of store.files()) {
    if (uploadKind(row.name) !== "image") continue;
    const stem = stemOf(row.name);
    paired.add(stem);
    const own = captions.get(stem);
    const file: StagedFile = {
      name: row.name,
      size: row.size,
      state: row.state,
      caption: effectiveCaption(own?.text, meta.defaultCaption, meta.triggerWord),
      ...(own ? { captionSource: own.source } : {}),
      ...(row.format ? { format: row.format } : {}),
    };
    if (row.state === "receiving") {
      const parts = store.parts(row.name);
      file.parts = parts.map((p) => p.n);
      file.receivedBytes = parts.reduce((sum, p) => sum + p.size, 0);
      receiving++;
    } else stagedBytes += row.size;
    if (row.state === "sent") sent++;
    files.push(file);
  }
  return {
    dataset_name: meta.datasetName,
    state: meta.state,
    created_at: new Date(meta.createdAt).toISOString(),
    expires_at: new Date(meta.expiresAt).toISOString(),
    default_caption: meta.defaultCaption,
    trigger_word: meta.triggerWord,
    auto_forward: meta.autoForward === true,
    files,
    rejected: store.rejected(),
    unpaired_captions: [...captions.keys()].filter((stem) => !paired.has(stem)).sort(),
    totals: { images: files.length - receiving, staged_bytes: stagedBytes, receiving, sent },
    forward: meta.forward,
    limits: sessionLimits(meta, config, measure),
  };
}
