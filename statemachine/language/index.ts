// The pipeline language: bitbucket-pipelines.yml → typed model, diagnostics, and pipeline selection.
export { formatDiagnostic } from './diagnostics';
export { BITBUCKET, LIMITS } from './limits';
export * from './model';
export { parsePipelineFile } from './parse';
export { pipeCommand, pipeImage } from './pipes';
export { readPipelineFile } from './read';
export { findPipeline, resolveVariables, selectPipeline, triggeredPipelines } from './select';
