// Runs compiled definitions on the local ASL interpreter with scripted stand-ins for the control
// Lambda and ECS, to prove the routing itself: on every path the final step runs exactly once and
// Finish run (which releases locks) runs exactly once. The real control actions and processes are
// exercised by the engine's fault matrix; here only the definition is under test.

import { describe, expect, it } from 'vitest';
import { localExecutionInput, startExecution } from '../../../local/engine';
import { TaskTokens } from '../../../local/tokens';
import type { Plan } from '../../../statemachine/compiler/plan';
import type { ControlPayload } from '../../../vocabulary/contract';
import { planOf } from './support';

interface Script {
  /** Exit code per step index (default 0). */
  readonly exit?: Record<number, number>;
  /** Steps whose Begin finds the run no longer RUNNING (a stop landed). */
  readonly notRunningFrom?: number;
  readonly approval?: 'approve' | 'refuse' | 'stop';
  readonly lock?: 'grant' | 'stop';
}

function named(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

async function execute(plan: Plan, script: Script) {
  const tokens = new TaskTokens();
  const calls: string[] = [];
  const tasks: number[] = [];
  const attempts = new Map<number, number>();
  let enterFinalError: string | undefined;

  const control = async (request: ControlPayload): Promise<unknown> => {
    calls.push(`${request.action}${'step' in request ? ` ${request.step}` : ''}`);
    switch (request.action) {
      case 'beginStep': {
        const spec = plan.steps[request.step]!;
        if (
          spec.kind !== 'final' &&
          script.notRunningFrom !== undefined &&
          request.step >= script.notRunningFrom
        ) {
          throw named('Run.NotRunning', 'the run is stopping');
        }
        attempts.set(request.step, (attempts.get(request.step) ?? 0) + 1);
        return { step: request.step, attempt: attempts.get(request.step) };
      }
      case 'completeStep': {
        const failed = (request.task as { Error?: string }).Error !== undefined;
        const spec = plan.steps[request.step]!;
        if (!failed || spec.kind === 'final')
          return { ok: !failed, status: failed ? 'FAILED' : 'SUCCESSFUL' };
        if (spec.onFail.strategy === 'ignore') return { ok: true, status: 'FAILED' };
        if (
          spec.onFail.strategy === 'retry' &&
          (attempts.get(request.step) ?? 0) <= spec.onFail.maxRetryCount
        ) {
          throw named('Step.Retry', 'retrying');
        }
        throw named('Step.Failed', `step ${request.step} failed`);
      }
      case 'awaitApproval': {
        if (script.approval === 'refuse')
          await tokens.sendTaskFailure(request.taskToken, 'Approval.Refused', 'no');
        else if (script.approval === 'stop')
          await tokens.sendTaskFailure(request.taskToken, 'Pipeline.Stopped', 'stop');
        else await tokens.sendTaskSuccess(request.taskToken, {});
        return { state: 'waiting' };
      }
      case 'acquireLock':
        if (script.lock === 'stop')
          await tokens.sendTaskFailure(request.taskToken, 'Pipeline.Stopped', 'stop');
        else await tokens.sendTaskSuccess(request.taskToken, { fence: 1 });
        return { state: 'acquired' };
      case 'enterFinal':
        enterFinalError = request.input?.error?.Error;
        return { status: enterFinalError ? 'FAILED' : 'SUCCESSFUL' };
      case 'finishRun':
        return enterFinalError
          ? { status: 'FAILED', error: 'Pipeline.Failed' }
          : { status: 'SUCCESSFUL', error: '' };
      default:
        return {};
    }
  };
  const runTask = async ({ step }: { step: number }) => {
    tasks.push(step);
    const code = script.exit?.[step] ?? 0;
    const task = {
      TaskArn: `local:${step}`,
      StopCode: 'EssentialContainerExited',
      Containers: [{ Name: 'agent', ExitCode: code }],
    };
    if (code !== 0) throw named('States.TaskFailed', JSON.stringify(task));
    return task;
  };
  const execution = startExecution(plan.definition, localExecutionInput('r1', plan), {
    control,
    tokens,
    tasks: { run: runTask },
  });
  const result = await execution.done;
  return { result, calls, tasks, enterFinalError };
}

const count = <T>(items: readonly T[], item: T) => items.filter((x) => x === item).length;

describe('every path runs the final step exactly once', () => {
  const plan = planOf('final');
  const finalIndex = plan.steps.findIndex((step) => step.kind === 'final');

  it('success: all steps, then the final step, then Succeed', async () => {
    const { result, tasks, calls } = await execute(plan, {});
    expect(result.status).toBe('SUCCEEDED');
    expect(tasks).toEqual([0, 1, 2]);
    expect(count(calls, 'finishRun')).toBe(1);
  });

  it('a failing step skips the rest, runs the final step, and fails with Pipeline.Failed', async () => {
    const { result, tasks, calls, enterFinalError } = await execute(plan, { exit: { 0: 3 } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'Pipeline.Failed' });
    expect(tasks).toEqual([0, finalIndex]);
    expect(enterFinalError).toBe('Step.Failed');
    expect(count(calls, 'finishRun')).toBe(1);
  });

  it('a stop before the next step (Run.NotRunning) goes straight to the final step', async () => {
    const { tasks, enterFinalError } = await execute(plan, { notRunningFrom: 1 });
    expect(tasks).toEqual([0, finalIndex]);
    expect(enterFinalError).toBe('Run.NotRunning');
  });

  it('a failing final step still ends in Finish run', async () => {
    const { tasks, calls } = await execute(plan, { exit: { [finalIndex]: 1 } });
    expect(tasks).toEqual([0, 1, finalIndex]);
    expect(count(calls, 'finishRun')).toBe(1);
  });

  it('a refused or stopped approval, and a stopped lock wait, all reach the final path', async () => {
    const manual = planOf('manual');
    for (const script of [{ approval: 'refuse' }, { approval: 'stop' }, { lock: 'stop' }] as const) {
      const { tasks, calls, enterFinalError } = await execute(manual, script);
      expect(tasks).toEqual([0]);
      expect(enterFinalError).toBe(
        'approval' in script && script.approval === 'refuse' ? 'Approval.Refused' : 'Pipeline.Stopped',
      );
      expect(count(calls, 'finishRun')).toBe(1);
    }
  });

  it('a pipeline without a final step still records its outcome and releases its locks', async () => {
    const { result, calls } = await execute(planOf('manual'), { exit: { 1: 1 } });
    expect(result).toMatchObject({ status: 'FAILED', error: 'Pipeline.Failed' });
    expect(calls.slice(-2)).toEqual(['enterFinal', 'finishRun']);
  });
});

describe('parallel groups', () => {
  const plan = planOf('parallel');

  it('without fail-fast a failing branch lets the other finish, then the group fails', async () => {
    const { tasks, enterFinalError, calls } = await execute(plan, { exit: { 0: 1 } });
    expect(tasks.sort()).toEqual([0, 1]);
    expect(count(calls, 'completeStep 1')).toBe(1);
    // The group check routes to Finalize without an error object: the run record says what failed.
    expect(enterFinalError).toBeUndefined();
    expect(calls).not.toContain('beginStep 2');
  });

  it('succeeds when every branch succeeds', async () => {
    const { result, tasks } = await execute(plan, {});
    expect(result.status).toBe('SUCCEEDED');
    expect(tasks.sort()).toEqual([0, 1, 2, 3]);
  });
});

describe('on-fail', () => {
  const plan = planOf('on-fail');

  it('retry runs the step again up to maxRetryCount, through Begin', async () => {
    const { tasks, calls } = await execute(plan, { exit: { 0: 1 } });
    expect(count(tasks, 0)).toBe(3);
    expect(count(calls, 'beginStep 0')).toBe(3);
    expect(tasks).not.toContain(1);
  });

  it('ignore lets the pipeline go on after the step failed', async () => {
    const { result, tasks } = await execute(plan, { exit: { 1: 1 } });
    expect(result.status).toBe('SUCCEEDED');
    expect(tasks).toEqual([0, 1, 2]);
  });
});
