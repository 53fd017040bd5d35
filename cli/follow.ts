// Following a run through the API: its steps' status changes and their logs, line by line, until the
// run has ended and every log has been read. The same loop serves `finale run` and `logs --follow`.

import type { LogChunk } from '../core/ports';
import type { RunRecord, StepRecord } from '../store/records';
import { stepHasEnded, TERMINAL_RUN_STATUSES } from '../vocabulary/contract';
import type { ApiClient } from './client';
import { orderedSteps } from './format';

interface FollowHandlers {
  onStep?(step: StepRecord, previous: StepRecord | undefined, run: RunRecord): void;
  /** The complete lines a page of the step's log brought, in order; the next page waits for it. */
  onLines?(step: StepRecord, lines: readonly string[]): void | Promise<void>;
  onTick?(run: RunRecord): void;
}

const STARTED = (step: StepRecord) => step.startedAt !== undefined || step.status === 'RUNNING';
// The listener goes with its sleep: a follow of hours sleeps thousands of times on one signal.
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener('abort', wake, { once: true });
  });

/**
 * The pages of a step's log from `offset` to its current end. The next page is asked for while the
 * caller handles this one, so the server reads while the client prints.
 */
export async function* logPages(
  client: ApiClient,
  runId: string,
  step: number,
  offset: number,
): AsyncGenerator<LogChunk> {
  let next = client.log(runId, step, offset);
  for (;;) {
    const chunk = await next;
    if (chunk.more) next = client.log(runId, step, chunk.next);
    yield chunk;
    if (!chunk.more) return;
  }
}

/**
 * Follows until the run has ended and its logs are read, or `signal` aborts (then resolves with the
 * run as last seen). A log is read a page at a time: one page in memory, whatever the log's size.
 */
export async function followRun(
  client: ApiClient,
  ref: string,
  handlers: FollowHandlers,
  options: { intervalMs?: number; steps?: readonly number[]; signal?: AbortSignal } = {},
): Promise<RunRecord> {
  const interval = options.intervalMs ?? 150;
  const offsets = new Map<number, number>();
  const partial = new Map<number, string>();
  const complete = new Set<number>();
  const seen = new Map<number, StepRecord>();
  const wanted = (step: StepRecord) => !options.steps || options.steps.includes(step.index);

  const readLog = async (runId: string, step: StepRecord) => {
    for await (const chunk of logPages(client, runId, step.index, offsets.get(step.index) ?? 0)) {
      offsets.set(step.index, chunk.next);
      const text = (partial.get(step.index) ?? '') + chunk.text;
      const lines = text.split('\n');
      partial.set(step.index, lines.pop() ?? '');
      if (chunk.complete) {
        const rest = partial.get(step.index);
        if (rest) lines.push(rest);
        partial.delete(step.index);
        complete.add(step.index);
      }
      if (lines.length) await handlers.onLines?.(step, lines);
      if (options.signal?.aborted) return;
    }
  };

  let last: RunRecord | undefined;
  for (;;) {
    if (options.signal?.aborted && last) return last;
    const run = await client.run(ref);
    last = run;
    for (const step of orderedSteps(run).filter(wanted)) {
      const previous = seen.get(step.index);
      seen.set(step.index, step);
      const changed = !previous || previous.status !== step.status;
      // A step that started is announced before its log; one that ended, after the end of its log.
      const ended = stepHasEnded(step.status);
      if (changed && !ended) handlers.onStep?.(step, previous, run);
      if (STARTED(step) && !complete.has(step.index)) await readLog(run.runId, step);
      if (changed && ended) handlers.onStep?.(step, previous, run);
    }
    handlers.onTick?.(run);
    const done =
      TERMINAL_RUN_STATUSES.includes(run.status) &&
      orderedSteps(run)
        .filter(wanted)
        .every((step) => !STARTED(step) || complete.has(step.index));
    if (done) return run;
    await sleep(interval, options.signal);
  }
}
