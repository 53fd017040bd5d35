// The executions one local engine instance has in flight: each runs the compiled definition on
// aws-local-stepfunctions with the local handlers, writes its history to the run's history.jsonl, and
// can be fenced. A fenced execution does nothing more: its handlers never answer, so it writes
// nothing and starts nothing — what a crashed engine does, and what an engine that lost a run to
// another instance must do (aws-local-stepfunctions cannot cancel a running execution).

import { createWriteStream } from 'node:fs';
import type { ControlRequest } from '../core/contract';
import type { Plan } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import { type LocalTasks, localExecutionInput, startExecution } from './engine';
import type { FinalePaths } from './paths';
import type { TaskTokens } from './tokens';

export interface ExecutionHandlers {
  readonly control: (request: ControlRequest) => Promise<unknown>;
  readonly tokens: TaskTokens;
  readonly tasks: LocalTasks;
  readonly retryIntervalMs?: number;
}

interface Entry {
  readonly done: Promise<void>;
  fenced: boolean;
}

export interface StartOptions {
  /** Runs only the final step and Finish run (an adopted orphan). */
  readonly recover?: boolean;
  /** Work to finish before the execution starts (ending what an orphan left running). */
  readonly before?: () => Promise<void>;
}

const never = () => new Promise<never>(() => undefined);

export class Executions {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly paths: FinalePaths,
    private readonly handlers: ExecutionHandlers,
    private readonly onEnd: (runId: string) => void,
  ) {}

  has(runId: string): boolean {
    return this.entries.has(runId);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** Settles when the run's current execution has ended and its history is on disk. */
  async settled(runId: string): Promise<void> {
    await this.entries.get(runId)?.done;
  }

  /** Stops the run's execution where it stands (see the file comment) and forgets it. */
  fence(runId: string): void {
    const entry = this.entries.get(runId);
    if (!entry) return;
    entry.fenced = true;
    this.entries.delete(runId);
    this.onEnd(runId);
  }

  fenceAll(): void {
    for (const runId of this.ids()) this.fence(runId);
  }

  start(run: RunRecord, plan: Plan, options: StartOptions = {}): void {
    const entry: Entry = { done: Promise.resolve(), fenced: false };
    const guard =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> =>
        entry.fenced ? never() : fn(...args);
    const tasks: LocalTasks = { run: guard((request) => this.handlers.tasks.run(request)) };
    const control = guard(this.handlers.control);
    (entry as { done: Promise<void> }).done = (async () => {
      await options.before?.();
      if (entry.fenced) return;
      // One append stream per execution: opening the file for every event would cost more than the event.
      const history = createWriteStream(this.paths.run(run.runId).history, { flags: 'a' });
      // The run goes on without its history rather than stop half-way; the server log says why.
      history.once('error', (error) =>
        console.error(`finale: the history of run ${run.runId} could not be written:`, error),
      );
      const execution = startExecution(
        plan.definition,
        localExecutionInput(run.runId, plan, { recover: options.recover ?? false }),
        {
          control,
          tokens: this.handlers.tokens,
          tasks,
          ...(this.handlers.retryIntervalMs !== undefined
            ? { retryIntervalMs: this.handlers.retryIntervalMs }
            : {}),
          onEvent: (event) => {
            if (!entry.fenced) history.write(`${JSON.stringify(event)}\n`);
          },
        },
      );
      try {
        await execution.done;
      } finally {
        // Done once every event is on disk.
        await new Promise<void>((flushed) => history.end(flushed));
      }
    })();
    this.entries.set(run.runId, entry);
    void entry.done
      .catch((error) => console.error(`finale: the execution of run ${run.runId} failed:`, error))
      .finally(() => {
        if (this.entries.get(run.runId) !== entry) return;
        this.entries.delete(run.runId);
        this.onEnd(run.runId);
      });
  }
}
