// Bounds that keep reading any input, however hostile, cheap in time and memory.

export const LIMITS = {
  /** Larger files are refused before parsing; real pipeline files are a few kilobytes. */
  maxFileBytes: 1024 * 1024,
  /** YAML parser nesting levels; the corpus peaks at 13. The YAML composer recurses per level. */
  maxNesting: 64,
  /** Values produced by expanding aliases and merge keys (an alias bomb grows this exponentially). */
  maxAliasExpansion: 100_000,
  /** Diagnostics kept per file; a file with more is broken beyond what more messages would help. */
  maxDiagnostics: 200,
} as const;

/** Bitbucket's own limits. */
export const BITBUCKET = {
  maxSteps: 100,
  maxTime: { min: 1, max: 720 },
  maxServices: 5,
  maxRetryCount: { min: 1, max: 10 },
  runsOnLabels: { max: 10, maxLength: 50 },
  serviceMemoryMin: 128,
  /** Caches Bitbucket provides without a definition. */
  predefinedCaches: ['composer', 'docker', 'dotnetcore', 'gradle', 'ivy2', 'maven', 'node', 'pip', 'sbt'],
  /** Services Bitbucket provides without a definition. */
  predefinedServices: ['docker'],
} as const;

/** The trigger events Finale fires: pushes, and pull requests opened or given new commits. */
export const FIRED_EVENTS = [
  'repository-push',
  'pullrequest-created',
  'pullrequest-updated',
  'pullrequest-push',
] as const;

/** Every trigger event Bitbucket's schema names (https://api.bitbucket.org/schemas/pipelines-configuration). */
export const DOCUMENTED_EVENTS = [
  ...FIRED_EVENTS,
  'pullrequest-fulfilled',
  'pullrequest-rejected',
  'pullrequest-reviewer-status-updated',
  'pipeline-completed',
  'deployment-completed',
] as const;
