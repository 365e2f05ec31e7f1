/**
 * The transfers of ai-toolkit's UI behind the Upstream interface (src/toolkit/upstream.ts):
 */
export { uiBatchBytes, uiBatchOverhead, uiListDatasets, uiSendBatch } from "./datasets";
