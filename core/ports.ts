// What the API needs from the engine it fronts, besides the core functions: each adapter starts runs
// and reads step logs its own way (the local host; on AWS the API Lambda and CloudWatch Logs).

import type { RunRecord } from '../store/records';
import type { Caller } from '../vocabulary/contract';
import type { StartedRun } from './start';

export interface StartRunRequest {
  readonly repository: string;
  /** A pipeline key (`default`, `branches:main`, `custom:deploy`); absent: what a push of `branch` runs. */
  readonly pipeline?: string;
  /** The pipeline file, relative to the repository root. */
  readonly file: string;
  readonly branch?: string;
  readonly variables: Readonly<Record<string, string>>;
  /** The caller's shell environment, for the steps of a local run (the local server only). */
  readonly environment?: Readonly<Record<string, string>>;
  readonly caller: Caller;
}

export interface RunStarter {
  /** `notices`: what the user should know about how this engine runs the steps (said once per run). */
  start(request: StartRunRequest): Promise<StartedRun & { readonly notices?: readonly string[] }>;
}

export interface LogChunk {
  readonly text: string;
  /** Offset to ask for next. */
  readonly next: number;
  /** The step has ended and everything has been read. */
  readonly complete: boolean;
  /** More is there already: ask again at once rather than after a pause. */
  readonly more: boolean;
}

export interface LogReader {
  read(run: RunRecord, step: number, offset: number): Promise<LogChunk>;
}

/** Where a secured variable's value is, for the vault: its repository, scope key and name. */
export interface VaultAddress {
  readonly repository: string;
  readonly scope: string;
  readonly name: string;
}

/**
 * Keeps secured values out of the store: the store records only the reference `put` answers.
 * Locally the value is sealed with a key kept apart from the database (local/vault.ts); on AWS it is
 * an SSM SecureString parameter, which ECS hands to the step container (aws/vault.ts).
 */
export interface SecretVault {
  put(address: VaultAddress, value: string): Promise<string>;
  /** Forgets what `put` kept (a variable unset, or no longer secured). */
  remove(reference: string): Promise<void>;
  /**
   * The value behind a reference, for an engine that starts step processes itself (the embedded
   * one). On AWS nothing in Finale reads a value back: ECS's execution role does, into the task.
   */
  reveal(reference: string): Promise<string>;
  /** Seals a value for the run record (a secured output variable); `unseal` opens it. */
  seal(value: string): Promise<string>;
  unseal(sealed: string): Promise<string>;
}
