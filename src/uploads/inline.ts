import { createUploadSession } from "./create";
import { acceptWhole } from "./receive/http";
import { stemOf } from "./rules";
import { sessionStub } from "./session";
import type { Manifest, Outcome } from "./types";

// upload_dataset's inline images: the same road as an upload session (see forwardInline).

export interface InlineImage {
  filename: string;
  data: string;
  caption: string;
}

/**
 * upload_dataset's inline images take the same road as an upload session: staged in R2,
 * checked, then forwarded in batches and verified with list_datasets. The session is
 * private to this call and removed at the end, whatever happened.
 */
export async function forwardInline(
  env: Env,
  datasetName: string,
  images: readonly InlineImage[],
): Promise<Outcome<Manifest>> {
  const session = await createUploadSession(env, undefined, { datasetName, defaultCaption: "", triggerWord: "" });
  const stub = sessionStub(env, session.tokenHash);
  try {
    for (const image of images) {
      const bytes = decodeBase64(image.data);
      const stream = new Blob([bytes]).stream();
      const accepted = await acceptWhole(env, session.tokenHash, image.filename, stream, bytes.byteLength);
      if (!accepted.ok) return accepted;
      const captioned = await stub.setCaptions([{ stem: stemOf(accepted.value.name), text: image.caption }], "api");
      if (!captioned.ok) return captioned;
    }
    return await stub.forwardNow();
  } finally {
    await stub.abandon();
  }
}

function decodeBase64(data: string): Uint8Array {
  const binary = atob(data.replace(/\s+/g, ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
