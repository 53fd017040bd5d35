// The executions one local engine instance has in flight: each runs the compiled definition on
// aws-local-stepfunctions with the local handlers, writes its history to the run's history.jsonl, and
// can be fenced. A fenced execution does nothing more: it is aborted, and the handlers it waits on
// fail at once (a handler already running finishes, unheard), so it writes nothing and starts
// nothing — what a crashed engine does, and what an engine that lost a run to another instance must
// do — and none of its timers keep the process alive.

import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Plan } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import type { ControlPayload } from '../vocabulary/contract';
import { type LocalTasks, localExecutionInput, startExecution } from './engine';
import type { FinalePaths } from './paths';
import type { TaskTokens } from './tokens';

interface ExecutionHandlers {
  readonly control: (request: ControlPayload) => Promise<unknown>;
  readonly tokens: TaskTokens;
  readonly tasks: LocalTasks;
  readonly retryIntervalMs?: number;
}

interface Entry {
  readonly done: Promise<void>;
  fenced: boolean;
  /** Ends the execution and fails the handlers it waits on, so that none of its timers live on. */
  halt?: () => void;
}

interface StartOptions {
  /** Runs only the final step and Finish run (an adopted orphan). */
  readonly recover?: boolean;
  /** Work to finish before the execution starts (ending what an orphan left running). */
  readonly before?: () => Promise<void>;
}

/** What a fenced execution's handlers answer: nothing it does afterwards is heard. */
class FencedError extends Error {
  override readonly name = 'Finale.Fenced';
}

export class Executions {
  private readonly entries = new Map<string, Entry>();
  /** Set once the engine stops: a run it still creates meanwhile is left to the next engine. */
  private closed = false;

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
    entry.halt?.();
    this.entries.delete(runId);
    this.onEnd(runId);
  }

  fenceAll(): void {
    this.closed = true;
    for (const runId of this.ids()) this.fence(runId);
  }

  start(run: RunRecord, plan: Plan, options: StartOptions = {}): void {
    // Its lease runs out, and the next engine adopts it.
    if (this.closed) return;
    const entry: Entry = { done: Promise.resolve(), fenced: false };
    // A handler's answer after the fence is dropped: the execution only sees it fail, after it has
    // been aborted, so it writes and starts nothing more.
    let rejectFenced!: (error: Error) => void;
    const fenced = new Promise<never>((_, reject) => {
      rejectFenced = reject;
    });
    fenced.catch(() => undefined);
    const guard =
      <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
      (...args: A): Promise<R> =>
        entry.fenced ? fenced : Promise.race([fn(...args), fenced]);
    const tasks: LocalTasks = { run: guard((request) => this.handlers.tasks.run(request)) };
    const control = guard(this.handlers.control);
    (entry as { done: Promise<void> }).done = (async () => {
      await options.before?.();
      if (entry.fenced) return;
      // An engine that died between writing a run and making its folder leaves an orphan without one.
      await mkdir(this.paths.run(run.runId).dir, { recursive: true });
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
      entry.halt = () => {
        execution.abort();
        rejectFenced(new FencedError('the execution was fenced'));
      };
      if (entry.fenced) entry.halt();
      try {
        await execution.done;
      } finally {
        // Done once every event is on disk.
        await new Promise<void>((flushed) => history.end(flushed));
      }
    })();
    this.entries.set(run.runId, entry);
    void entry.done
      .catch((error) => {
        // A fenced execution's failures are its engine's stop, not the run's: the adopter goes on.
        if (!entry.fenced) console.error(`finale: the execution of run ${run.runId} failed:`, error);
      })
      .finally(() => {
        if (this.entries.get(run.runId) !== entry) return;
        this.entries.delete(run.runId);
        this.onEnd(run.runId);
      });
  }
}
