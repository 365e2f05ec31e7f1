// Streaming codecs for moving files through the toolkit's JSON-only protocol within an
// isolate's memory: base64 both ways, the upload_dataset body, the download_model answer.

export { Base64Encoder, base64EncodedLength, createBase64EncodeStream } from "./base64-encode";
export { Base64Decoder, Base64Error, createBase64DecodeStream, type Base64DecoderOptions } from "./base64-decode";
export {
  createUploadDatasetBody,
  uploadBodyLength,
  UploadBodyError,
  type UploadBody,
  type UploadImageInfo,
  type UploadImageSource,
} from "./upload-body";
export { extractBase64Field, type ExtractedDownload, type ExtractedEnvelope } from "./download-extract";
export {
  DEFAULT_ENVELOPE_LIMITS,
  JsonStreamError,
  type EnvelopeLimits,
  type JsonObject,
  type JsonValue,
} from "./envelope-types";
