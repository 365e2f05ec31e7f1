import type { UploadKind } from "./names";
import type { Manifest } from "./types";

/** What a session knows when a file (or one more part of it) asks to come in. */
export interface Admission {
  name: string;
  kind: UploadKind;
  /** Bytes this request brings. */
  size: number;
  /** Bytes of this file already received in earlier parts. */
  receivedBytes: number;
  /** Bytes the session holds, not counting a whole file this request replaces. */
  sessionBytes: number;
  /** Images the session holds. */
  imageCount: number;
  /** True when the name is new to the session (a replacement does not add an image). */
  isNew: boolean;
}

/**
 * The size and count rules of an upload session, each refusal saying which setting set the
 * bound and what to do. A pure function, so every rule is tested without a session.
 */
export function limitProblem(a: Admission, limits: Manifest["limits"]): string | undefined {
  if (a.kind === "image" && a.receivedBytes + a.size > limits.file_max_bytes) {
    return `${a.name} is over the ${limits.file_max_bytes}-byte limit per image (UPLOAD_FILE_MAX_BYTES, and one image must fit one toolkit batch): resize or recompress it`;
  }
  if (a.sessionBytes + a.size > limits.session_max_bytes) {
    return `${a.name} would take this session over its ${limits.session_max_bytes}-byte limit (UPLOAD_SESSION_MAX_BYTES): finalize this session and put the rest in another`;
  }
  if (a.kind === "image" && a.isNew && a.imageCount >= limits.session_max_files) {
    return `this session already holds ${limits.session_max_files} images (UPLOAD_SESSION_MAX_FILES): finalize it and put the rest in another`;
  }
  return undefined;
}
