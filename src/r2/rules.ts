/**
 * R2's multipart rules, shared by dataset uploads and model staging: every part but the
 * last at least 5 MiB, and all of those the same size.
 */
export const R2_MIN_PART_BYTES = 5 * 1024 * 1024;
