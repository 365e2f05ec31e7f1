/**
 * The transfers of ai-toolkit's UI behind the Upstream interface (src/toolkit/upstream.ts):
 * datasets in (datasets.ts), models out (models.ts). UiUpstream delegates to these.
 */
export { uiBatchBytes, uiBatchOverhead, uiListDatasets, uiSendBatch } from "./datasets";
export { MODEL_RESUMES, uiExportModel, uiListModels, uiOpenModel } from "./models";
