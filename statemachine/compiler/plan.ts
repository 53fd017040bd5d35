// What the compiler produces: the ASL definition and the per-step specs the runtimes need.
// The same Plan is executed by AWS Step Functions and by the embedded engine.

import type { StopSignal } from '../../supervisor/contract';
import type { ImageRef, StepSize } from '../language/model';

/** Minimal ASL typing: the compiler builds plain JSON; these names document the shape. */
export type AslState = Record<string, unknown> & { readonly Type: string };
export interface AslDefinition {
  readonly Comment?: string;
  readonly StartAt: string;
  readonly States: Record<string, AslState>;
}

/** The Task resources the compiled definition uses. Local handlers exist for exactly these. */
export const RESOURCES = {
  runTask: 'arn:aws:states:::ecs:runTask.sync',
  control: 'arn:aws:states:::lambda:invoke',
  controlWait: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
} as const;

export interface StopSettings {
  /** false: a stop kills at once (Bitbucket's behaviour); true: one signal, the grace, then KILL. */
  readonly graceful: boolean;
  readonly signal: StopSignal;
  /** Seconds between the signal and KILL. */
  readonly graceSeconds: number;
}

export interface StepSpec {
  /** Position in Plan.steps; the step's id everywhere (records, logs, task parameters). */
  readonly index: number;
  /** The display name: the step's name, or a generated one ("Step 3"). */
  readonly name: string;
  /** The ASL Task state that runs the step (`[Final Step] …` for the final step). */
  readonly stateName: string;
  readonly kind: 'step' | 'final';
  /** Where the step sits, for display and for BITBUCKET_PARALLEL_STEP*. */
  readonly group?: {
    readonly kind: 'parallel' | 'stage';
    readonly name: string;
    readonly index: number;
    readonly count: number;
    readonly failFast: boolean;
  };
  readonly image: Omit<ImageRef, 'at'>;
  readonly size: StepSize;
  /** Fargate task size for that step size. */
  readonly cpu: number;
  readonly memory: number;
  readonly maxTimeMinutes: number;
  readonly stop: StopSettings;
  /** Script items in order; each is one command text as written (pipes are rendered as commands). */
  readonly script: readonly string[];
  readonly afterScript: readonly string[];
  /** Static environment for this step (BITBUCKET_DEPLOYMENT_ENVIRONMENT, BITBUCKET_PARALLEL_STEP, …). */
  readonly environment: Readonly<Record<string, string>>;
  readonly trigger: 'automatic' | 'manual';
  readonly deployment?: string;
  /** Lock keys this step runs under (its own, or its stage's). */
  readonly locks: readonly string[];
  readonly artifacts: { readonly paths: readonly string[]; readonly download: boolean | readonly string[] };
  readonly outputVariables: readonly string[];
  readonly onFail: { readonly strategy: 'fail' | 'ignore' | 'retry'; readonly maxRetryCount: number };
  readonly clone: { readonly enabled: boolean; readonly depth?: number | 'full'; readonly lfs: boolean };
  readonly caches: readonly string[];
  readonly services: readonly string[];
  /** true when a changeset condition excluded the step at compile time. */
  readonly skipped: boolean;
}

export interface LockSpec {
  /** `deployment:<environment>` or `concurrency:<group>`; the store prefixes the repository. */
  readonly key: string;
  readonly kind: 'deployment' | 'concurrency';
  readonly name: string;
  /** The holder's lease: a safety net that outlasts the longest holding path (max-time + grace). */
  readonly leaseSeconds: number;
  /** Steps that run under the lock. */
  readonly steps: readonly number[];
}

export interface PlanStats {
  readonly states: number;
  readonly definitionBytes: number;
  readonly longestStateName: number;
  /** State transitions of a successful run, in total and per step (goal ≤ 3). */
  readonly happyPathTransitions: number;
  readonly transitionsPerStep: number;
  /** An upper bound on the execution history events of the worst path (limit 25,000). */
  readonly worstCaseHistoryEvents: number;
}

export interface Plan {
  readonly version: 1;
  /** The selected pipeline's key, e.g. `branches:main`. */
  readonly pipeline: string;
  readonly definition: AslDefinition;
  readonly steps: readonly StepSpec[];
  readonly locks: readonly LockSpec[];
  readonly stats: PlanStats;
  /** Things the compiler adapted, for the user (e.g. a size Fargate cannot provide exactly). */
  readonly notes: readonly string[];
  /** sha256 of the canonical definition and specs: equal plans share a state machine version. */
  readonly hash: string;
}

/**
 * The execution input. The definition reads deployment-specific values from here
 * (`$$.Execution.Input.…`), so one compiled definition serves every account and the local engine.
 */
export interface ExecutionInput {
  readonly runId: string;
  /** The plan the run executes; tasks fetch their step spec by it. */
  readonly planHash: string;
  /**
   * true when an orphaned or aborted run is resumed only to run its final step and release its locks.
   * Always present: the Start choice reads it, and a path that may be missing would fail the execution.
   */
  readonly recover: boolean;
  readonly env: {
    /** The control Lambda's name or ARN ('local' on the embedded engine). */
    readonly control: string;
    readonly cluster: string;
    readonly subnets: readonly string[];
    readonly securityGroups: readonly string[];
    readonly assignPublicIp: 'ENABLED' | 'DISABLED';
    /** Task definition ARN per step, keyed `s<index>`. */
    readonly taskDefinitions: Readonly<Record<string, string>>;
  };
}

/** Container names in the step's ECS task definition. */
export const TASK_CONTAINERS = { agent: 'agent', step: 'step', prepare: 'prepare' } as const;

/** Environment variables the step task receives through container overrides (each value is short). */
export const TASK_ENV = {
  runId: 'FINALE_RUN_ID',
  step: 'FINALE_STEP_INDEX',
  plan: 'FINALE_PLAN_HASH',
} as const;
