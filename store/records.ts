// The records Finale keeps in DynamoDB (see tables.ts). Times are epoch milliseconds unless named
// otherwise. These types are the data-access module's public shape; nothing else builds raw items.

import type { StopSignal } from '../supervisor/contract';
import type { RunReason, RunStatus, StepStatus, StopMode, StopPolicy } from '../vocabulary/contract';

export interface TriggerRecord {
  readonly kind: 'branch' | 'tag' | 'bookmark' | 'pull-request' | 'custom' | 'manual';
  /** Branch, tag or bookmark name; the source branch of a pull request; the custom pipeline's name. */
  readonly ref: string;
  readonly commit: string;
  readonly message?: string;
  readonly destination?: string;
  readonly pullRequestId?: string;
  /** The branch a custom or manual run was started on (BITBUCKET_BRANCH). */
  readonly branch?: string;
}

export interface StepRecord {
  readonly index: number;
  readonly name: string;
  readonly kind: 'step' | 'final';
  readonly status: StepStatus;
  readonly attempts: number;
  /** The script's exit code. */
  readonly exitCode?: number;
  /** ECS stopCode, or the local equivalent (UserInitiated, EssentialContainerExited, TaskFailedToStart). */
  readonly stopCode?: string;
  /** ECS task ARN, or `local:<pid>` on the embedded engine. */
  readonly taskId?: string;
  readonly startedAt?: number;
  readonly endedAt?: number;
  /** Its manual trigger was refused, by this user: the run is STOPPED unless a step failed. */
  readonly refusedBy?: string;
  /** on-fail: ignore let the pipeline go on after this step failed. */
  readonly ignored?: boolean;
  /** Its task, started by an engine that went away, was found still running and awaited. */
  readonly resumed?: boolean;
  /** Where the log is: a CloudWatch stream or a local file path. */
  readonly log?: string;
}

/** Something that happened to a run that its statuses alone do not tell: a crash, an adoption. */
export interface RunNote {
  readonly at: number;
  readonly text: string;
}

export interface HeldLock {
  readonly fence: number;
  readonly since: number;
}

export interface WaitingRecord {
  readonly kind: 'approval' | 'lock';
  readonly step: number;
  readonly lock?: string;
  readonly taskToken: string;
  readonly since: number;
}

export interface StopRecord {
  readonly by: string;
  readonly mode: StopMode;
  readonly reason?: string;
  readonly at: number;
  /** Accepted during phase final (an admin's immediate stop): it also ends the final step. */
  readonly final?: boolean;
}

export interface RunRecord {
  readonly runId: string;
  readonly repository: string;
  readonly buildNumber: number;
  /** Pipeline key, e.g. `branches:main`. */
  readonly pipeline: string;
  readonly planHash: string;
  readonly trigger: TriggerRecord;
  readonly status: RunStatus;
  readonly reason?: RunReason;
  /**
   * The pipeline's outcome, fixed when the final path is entered (or by orphan recovery); finishRun
   * turns it into the terminal status, adjusted by the final step's result.
   */
  readonly outcome?: { readonly status: RunStatus; readonly reason: RunReason };
  /** main: pipeline steps; final: the final path runs; done: ended. */
  readonly phase: 'main' | 'final' | 'done';
  readonly startedBy: string;
  readonly createdAt: number;
  readonly startedAt?: number;
  readonly endedAt?: number;
  readonly stop?: StopRecord;
  /** Custom pipeline variables, as started. */
  readonly variables: Readonly<Record<string, string>>;
  /** Output variables written by steps, visible to later steps. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Output variables holding a secured value, sealed by the engine's vault (absent on older runs). */
  readonly securedOutputs?: Readonly<Record<string, string>>;
  /** Keyed by step index. */
  readonly steps: Readonly<Record<string, StepRecord>>;
  /** Locks this run holds, keyed by lock key. */
  readonly locks: Readonly<Record<string, HeldLock>>;
  readonly waiting?: WaitingRecord;
  /** What happened that the statuses do not tell (engine crashes, adoptions, forced unlocks), oldest first. */
  readonly notes?: readonly RunNote[];
  /** Who executes it: the execution ARN on AWS, or the local engine instance with its lease. */
  readonly engine?: { readonly instance: string; readonly leaseUntil: number; readonly execution?: string };
  readonly version: number;
}

export interface LockWaiter {
  readonly runId: string;
  readonly step: number;
  readonly taskToken: string;
  readonly leaseSeconds: number;
  readonly since: number;
}

export interface LockRecord {
  /** `<repository>#<key>`. */
  readonly lockKey: string;
  readonly repository: string;
  /** `deployment:<env>` or `concurrency:<group>`. */
  readonly key: string;
  readonly holder?: {
    readonly runId: string;
    readonly step: number;
    readonly fence: number;
    readonly since: number;
    readonly leaseUntil: number;
    /**
     * The token the holder was resumed with. A handover that finds it gone skips the waiter only if
     * this is still that token (the waiter may have re-called acquire with a fresh one meanwhile).
     */
    readonly taskToken?: string;
  };
  /** The last fencing token issued; every acquisition increments it. */
  readonly fence: number;
  readonly waiters: readonly LockWaiter[];
  readonly version: number;
}

export interface SettingsRecord {
  readonly gracefulStop: boolean;
  /** Seconds. */
  readonly stopTimeout: number;
  readonly stopSignal: StopSignal;
  readonly stopPolicy: StopPolicy;
  readonly admins: readonly string[];
}

export const DEFAULT_SETTINGS: SettingsRecord = {
  gracefulStop: true,
  stopTimeout: 30,
  stopSignal: 'TERM',
  stopPolicy: 'anyone',
  admins: [],
};

export interface AuditRecord {
  readonly repository: string;
  readonly at: number;
  readonly by: string;
  readonly action: 'stop' | 'approve' | 'refuse' | 'unlock' | 'settings' | 'start' | 'variables';
  readonly runId?: string;
  readonly detail: Readonly<Record<string, unknown>>;
}
