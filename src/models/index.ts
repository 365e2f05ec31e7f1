// Trained models on their way home: staged from the toolkit into R2, served by signed links.
export { downloadLink, type DownloadLink } from "./link";
export { downloadRoutes, parseRange } from "./route";
export { stageModel, unchangedOnToolkit, type StageDeps, type StageOutcome } from "./stage";
export { forgetStaged, listStaged, type StagedModel, type StagedSummary } from "./staged";
