// The typed model of a bitbucket-pipelines.yml file. Everything after parsing reads this model,
// never the YAML (act's planner/runner split). Field names follow Bitbucket's keys in camelCase.
import type * as z from 'zod/mini';
import type * as schema from './schema';

/** 1-based line and column of the node a model value came from. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export const STEP_SIZES = ['1x', '2x', '4x', '8x', '16x', '32x'] as const;
export type StepSize = (typeof STEP_SIZES)[number];

// The model's nodes are what schema.ts builds; their keys and comments are written there, once.
type Node<T extends z.core.$ZodType> = z.output<T>;
export type ImageRef = Node<typeof schema.imageObject>;
export type CloneSettings = Node<typeof schema.clone>;
export type PipelineFile = Node<typeof schema.file> & {
  /** The path the file was read from, as given; used in every diagnostic. */
  readonly path: string;
};
export type GlobalOptions = NonNullable<PipelineFile['options']>;
export type CacheDefinition = PipelineFile['definitions']['caches'][number];
export type ServiceDefinition = PipelineFile['definitions']['services'][number];
/** In the order they are written. */
export type Pipeline = PipelineFile['pipelines'][number];
export type PipelineItem = Pipeline['items'][number];
export type CustomVariable = Pipeline['variables'][number];
export type Step = Extract<PipelineItem, { kind: 'step' | 'final' }>;
export type Parallel = Extract<PipelineItem, { kind: 'parallel' }>;
export type Stage = Extract<PipelineItem, { kind: 'stage' }>;
export type ScriptEntry = Step['script'][number];
export type ArtifactSettings = NonNullable<Step['artifacts']>;
export type ArtifactUpload = ArtifactSettings['upload'][number];
export type ChangesetCondition = NonNullable<Step['condition']>;
export type ChildPipeline = NonNullable<Step['child']>;
export type OnFail = NonNullable<Step['onFail']>;

export type Trigger = 'automatic' | 'manual';

export type SelectorKind = 'default' | 'branches' | 'tags' | 'bookmarks' | 'pull-requests' | 'custom';

export interface PipelineSelector {
  readonly kind: SelectorKind;
  /** The glob for branches/tags/bookmarks/pull-requests, the name for custom; absent for default. */
  readonly pattern?: string;
  /** pull-requests only: the destination branch glob under `destinations:`. */
  readonly destination?: string;
}

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** A stable kebab-case identifier of the rule, e.g. `unknown-key`, `max-time-range`. */
  readonly code: string;
  readonly message: string;
}

/** The result of reading one file: a model only when there are no errors. */
export type ReadResult =
  | { readonly ok: true; readonly file: PipelineFile; readonly diagnostics: readonly Diagnostic[] }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

/** What happened in the repository, for pipeline selection. */
export type TriggerEvent =
  | { readonly kind: 'branch'; readonly branch: string; readonly message?: string }
  | { readonly kind: 'tag'; readonly tag: string; readonly message?: string }
  | { readonly kind: 'bookmark'; readonly bookmark: string; readonly message?: string }
  | {
      readonly kind: 'pull-request';
      readonly source: string;
      readonly destination?: string;
      /** Opened, or given new commits; for `triggers` (created unless said). */
      readonly action?: 'created' | 'updated';
      readonly message?: string;
    }
  | {
      readonly kind: 'custom';
      readonly name: string;
      readonly variables?: Readonly<Record<string, string>>;
      readonly message?: string;
    };

export type Selection =
  | {
      readonly pipeline: Pipeline;
      /** Custom variables after defaults were applied; empty for other pipelines. */
      readonly variables: Readonly<Record<string, string>>;
      /** Why this pipeline, in one sentence. */
      readonly reason: string;
    }
  | {
      readonly pipeline: null;
      readonly reason: string;
      /** Problems with the request itself, e.g. a missing required custom variable. */
      readonly errors?: readonly string[];
    };

/** Every step of an item list, in order, with parallel and stage steps flattened. */
export function stepsOf(items: readonly PipelineItem[]): Step[] {
  return items.flatMap((item) => (item.kind === 'parallel' || item.kind === 'stage' ? item.steps : [item]));
}

/** The deployment environments a file's pipelines name: steps' and stages' `deployment`, steps' `environment`. */
export function deploymentEnvironments(file: PipelineFile): string[] {
  const names = new Set<string>();
  for (const pipeline of file.pipelines) {
    for (const item of pipeline.items) {
      if (item.kind === 'stage' && item.deployment) names.add(item.deployment);
    }
    for (const step of stepsOf(pipeline.items)) {
      if (step.deployment) names.add(step.deployment);
      if (step.environment) names.add(step.environment);
    }
  }
  return [...names].sort();
}
