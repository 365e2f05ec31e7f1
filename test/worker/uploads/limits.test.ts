import { describe, expect, it } from "vitest";
import { limitProblem, type Admission } from "../../../src/uploads/rules";

const limits = {
  file_max_bytes: 1000,
  session_max_bytes: 5000,
  session_max_files: 3,
  caption_max_chars: 4000,
  part_min_bytes: 5 * 1024 * 1024,
};
const fresh: Admission = {
  name: "a.png",
  kind: "image",
  size: 100,
  receivedBytes: 0,
  sessionBytes: 0,
  imageCount: 0,
  isNew: true,
};

describe("upload session limits", () => {
  it("accepts a file within every limit", () => {
    expect(limitProblem(fresh, limits)).toBeUndefined();
    expect(limitProblem({ ...fresh, size: 1000, sessionBytes: 4000, imageCount: 2 }, limits)).toBeUndefined();
  });

  it("refuses an image over the per-image limit, counting parts already received", () => {
    expect(limitProblem({ ...fresh, size: 1001 }, limits)).toMatch(
      /a\.png is over the 1000-byte limit per image \(UPLOAD_FILE_MAX_BYTES/,
    );
    expect(limitProblem({ ...fresh, size: 400, receivedBytes: 700 }, limits)).toMatch(/limit per image/);
    // Caption lists are not images: only the session total applies to them.
    expect(limitProblem({ ...fresh, name: "captions.csv", kind: "captions-csv", size: 2000 }, limits)).toBeUndefined();
  });

  it("refuses what would take the session over its byte limit", () => {
    expect(limitProblem({ ...fresh, size: 600, sessionBytes: 4500 }, limits)).toMatch(
      /would take this session over its 5000-byte limit \(UPLOAD_SESSION_MAX_BYTES\): finalize this session/,
    );
    expect(limitProblem({ ...fresh, name: "all.zip", kind: "zip", size: 5001 }, limits)).toMatch(
      /UPLOAD_SESSION_MAX_BYTES/,
    );
  });

  it("refuses a new image once the session holds the most images, but lets one be replaced", () => {
    expect(limitProblem({ ...fresh, imageCount: 3 }, limits)).toMatch(
      /already holds 3 images \(UPLOAD_SESSION_MAX_FILES\)/,
    );
    expect(limitProblem({ ...fresh, imageCount: 3, isNew: false }, limits)).toBeUndefined();
    expect(limitProblem({ ...fresh, name: "a.txt", kind: "caption", imageCount: 3 }, limits)).toBeUndefined();
  });
});
