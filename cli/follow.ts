// Following a run through the API: its steps' status changes and their logs, line by line, until the
// run has ended and every log has been read. The same loop serves `finale run` and `logs --follow`.

import { TERMINAL_RUN_STATUSES } from '../core/contract';
import type { RunRecord, StepRecord } from '../store/records';
import type { ApiClient } from './client';
import { orderedSteps } from './format';

export interface FollowHandlers {
  onStep?(step: StepRecord, previous: StepRecord | undefined, run: RunRecord): void;
  onLine?(step: StepRecord, line: string): void;
  onTick?(run: RunRecord): void;
}

const STARTED = (step: StepRecord) => step.startedAt !== undefined || step.status === 'RUNNING';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function followRun(
  client: ApiClient,
  ref: string,
  handlers: FollowHandlers,
  options: { intervalMs?: number; steps?: readonly number[] } = {},
): Promise<RunRecord> {
  const interval = options.intervalMs ?? 150;
  const offsets = new Map<number, number>();
  const partial = new Map<number, string>();
  const complete = new Set<number>();
  const seen = new Map<number, StepRecord>();
  const wanted = (step: StepRecord) => !options.steps || options.steps.includes(step.index);

  const readLog = async (runId: string, step: StepRecord) => {
    const chunk = await client.log(runId, step.index, offsets.get(step.index) ?? 0);
    offsets.set(step.index, chunk.next);
    const text = (partial.get(step.index) ?? '') + chunk.text;
    const lines = text.split('\n');
    partial.set(step.index, lines.pop() ?? '');
    for (const line of lines) handlers.onLine?.(step, line);
    if (chunk.complete) {
      const rest = partial.get(step.index);
      if (rest) handlers.onLine?.(step, rest);
      partial.delete(step.index);
      complete.add(step.index);
    }
  };

  for (;;) {
    const run = await client.run(ref);
    for (const step of orderedSteps(run).filter(wanted)) {
      const previous = seen.get(step.index);
      seen.set(step.index, step);
      const changed = !previous || previous.status !== step.status;
      // A step that started is announced before its log; one that ended, after the end of its log.
      const ended = !['PENDING', 'WAITING', 'RUNNING'].includes(step.status);
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
    await sleep(interval);
  }
}
