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
