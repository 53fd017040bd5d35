// The typed model of a bitbucket-pipelines.yml file. Everything after parsing reads this model,
// never the YAML (act's planner/runner split). Field names follow Bitbucket's keys in camelCase.

/** 1-based line and column of the node a model value came from. */
export interface Position {
  readonly line: number;
  readonly column: number;
}

export const STEP_SIZES = ['1x', '2x', '4x', '8x', '16x', '32x'] as const;
export type StepSize = (typeof STEP_SIZES)[number];

export interface ImageRef {
  readonly name: string;
  readonly username?: string;
  readonly password?: string;
  readonly email?: string;
  readonly aws?: { readonly accessKey?: string; readonly secretKey?: string; readonly oidcRole?: string };
  readonly runAsUser?: number;
  readonly at: Position;
}

export interface CloneSettings {
  readonly enabled?: boolean;
  /** A number of commits, or 'full'. */
  readonly depth?: number | 'full';
  readonly lfs?: boolean;
  readonly skipSslVerify?: boolean;
  readonly at: Position;
}

export interface GlobalOptions {
  readonly maxTime?: number;
  readonly size?: StepSize;
  readonly docker?: boolean;
  readonly at: Position;
}

export interface CacheDefinition {
  readonly name: string;
  readonly path: string;
  /** Keyed caches: the cache is invalidated when these files change. */
  readonly keyFiles?: readonly string[];
  readonly at: Position;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly image?: ImageRef;
  readonly memory?: number;
  readonly type?: string;
  readonly variables?: Readonly<Record<string, string>>;
  readonly at: Position;
}

export type ScriptEntry =
  | { readonly kind: 'command'; readonly text: string; readonly at: Position }
  | {
      readonly kind: 'pipe';
      readonly pipe: string;
      readonly variables: Readonly<Record<string, unknown>>;
      readonly at: Position;
    };

export interface ArtifactUpload {
  readonly name: string;
  readonly paths: readonly string[];
  readonly type?: string;
  readonly depth?: number;
  /** Globs left out of the upload. */
  readonly ignorePaths?: readonly string[];
  /** When the upload happens (Bitbucket's `capture-on`), as written. */
  readonly captureOn?: string;
}

export interface ArtifactSettings {
  /** Globs (relative to the clone directory) kept for later steps. */
  readonly paths: readonly string[];
  /** true: download all earlier artifacts (Bitbucket's default); false: none; a list: those named uploads. */
  readonly download: boolean | readonly string[];
  readonly upload: readonly ArtifactUpload[];
  readonly at: Position;
}

export interface ChangesetCondition {
  readonly includePaths: readonly string[];
  readonly excludePaths: readonly string[];
  readonly at: Position;
}

export type Trigger = 'automatic' | 'manual';

/** A child pipeline step (`type: pipeline`): it starts the custom pipeline `custom` instead of a script. */
export interface ChildPipeline {
  readonly custom: string;
  readonly inputVariables: Readonly<Record<string, string>>;
  readonly at: Position;
}

export type OnFail =
  | { readonly strategy: 'fail' | 'ignore'; readonly at: Position }
  | { readonly strategy: 'retry'; readonly maxRetryCount: number; readonly at: Position };

export interface Step {
  /** 'final' for the `- final:` item; everything else is 'step'. */
  readonly kind: 'step' | 'final';
  readonly name?: string;
  readonly script: readonly ScriptEntry[];
  readonly afterScript: readonly ScriptEntry[];
  readonly image?: ImageRef;
  readonly caches: readonly string[];
  readonly artifacts?: ArtifactSettings;
  readonly services: readonly string[];
  readonly size?: StepSize;
  /** Minutes, 1–720. */
  readonly maxTime?: number;
  readonly deployment?: string;
  /** Bitbucket's `environment`: the environment's variables and permissions, without a deployment lock. */
  readonly environment?: string;
  readonly concurrencyGroup?: string;
  readonly trigger: Trigger;
  readonly condition?: ChangesetCondition;
  /** Set for a child pipeline step; its script is then empty. Finale does not run child pipelines. */
  readonly child?: ChildPipeline;
  readonly oidc?: boolean;
  readonly runsOn: readonly string[];
  readonly clone?: CloneSettings;
  readonly failFast?: boolean;
  readonly onFail?: OnFail;
  readonly outputVariables: readonly string[];
  readonly at: Position;
}

export interface Parallel {
  readonly kind: 'parallel';
  readonly failFast: boolean;
  readonly steps: readonly Step[];
  readonly at: Position;
}

export interface Stage {
  readonly kind: 'stage';
  readonly name?: string;
  readonly deployment?: string;
  readonly trigger: Trigger;
  readonly condition?: ChangesetCondition;
  readonly steps: readonly Step[];
  readonly at: Position;
}

export type PipelineItem = Step | Parallel | Stage;

export type SelectorKind = 'default' | 'branches' | 'tags' | 'bookmarks' | 'pull-requests' | 'custom';

export interface PipelineSelector {
  readonly kind: SelectorKind;
  /** The glob for branches/tags/bookmarks/pull-requests, the name for custom; absent for default. */
  readonly pattern?: string;
  /** pull-requests only: the destination branch glob under `destinations:`. */
  readonly destination?: string;
}

export interface CustomVariable {
  readonly name: string;
  readonly default?: string;
  readonly allowedValues?: readonly string[];
  readonly description?: string;
  readonly at: Position;
}

export interface Pipeline {
  /**
   * `default`, `branches:<glob>`, `tags:<glob>`, `bookmarks:<glob>`, `pull-requests:<glob>`,
   * `pull-requests:<source glob>:<destination glob>` (under `destinations:`), `custom:<name>`.
   */
  readonly key: string;
  readonly selector: PipelineSelector;
  readonly items: readonly PipelineItem[];
  /** Only custom pipelines declare variables. */
  readonly variables: readonly CustomVariable[];
  /** Set for `import: repo:ref:name`: the steps live in another repository and `items` is empty. */
  readonly importFrom?: string;
  readonly at: Position;
}

export interface PipelineFile {
  /** The path the file was read from, as given; used in every diagnostic. */
  readonly path: string;
  readonly image?: ImageRef;
  readonly clone?: CloneSettings;
  readonly options?: GlobalOptions;
  readonly definitions: {
    readonly caches: readonly CacheDefinition[];
    readonly services: readonly ServiceDefinition[];
  };
  /** In the order they are written. */
  readonly pipelines: readonly Pipeline[];
  /** `definitions.pipelines`: shared with other repositories (`export: true`); no trigger selects them. */
  readonly sharedPipelines?: readonly Pipeline[];
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
