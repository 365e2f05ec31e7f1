// ai-toolkit's own web UI (port 8675) as an upstream: its HTTP client, the answers it gives,
// what a job row means, and how to tell it from the original bridge.

export { UiClient, type UiClientOptions, type UiJobInput, type UiLossQuery, type UiStartResult } from "./client";
export type { UiDownload, UiDownloadOptions } from "./download";
export { defaultSetting, type UiContext } from "./failures";
export type { UiCallOptions } from "./http";
export { identifyUpstream, type UpstreamIdentity } from "./identify";
export { createMultipartBody, multipartLength, type MultipartBody, type MultipartPart } from "./multipart";
export { captionNameFor, uiAbsolutePathSchema, uiDatasetNameSchema, uiGpuIdsSchema, uiJobIdSchema, uiJobNameSchema, uiStoredName } from "./names";
export {
  jobFacts,
  observeMovement,
  parseJobConfig,
  parseSpeed,
  phaseOf,
  queuePlace,
  stuckVerdict,
  type UiJobConfig,
  type UiJobFacts,
  type UiMovement,
  type UiPhase,
  type UiQueuePlace,
  type UiStuckVerdict,
} from "./progress";
export type { UiCpu, UiDatasetImages, UiFolders, UiGpu, UiJob, UiJobFile, UiJobStatus, UiLog, UiLoss, UiQueue } from "./schemas";
export { datasetUploadLength, UPLOAD_TIMEOUT_MS, type UiUploadImage, type UiUploadResult } from "./upload";
