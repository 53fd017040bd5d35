import { describe, expect, it } from 'vitest';
import { decideRunOutcome, decideStepOutcome, decideTerminal, failErrorOf } from '../../core/outcome';
import type { RunRecord, StepRecord } from '../../store/records';

describe('decideStepOutcome', () => {
  it.each([
    ['supervisor exit 0', { exitCode: 0 }, 'SUCCESSFUL'],
    ['supervisor exit 240 (stopped by the supervisor)', { exitCode: 240, stoppedBy: 'request' }, 'STOPPED'],
    ['supervisor exit 241 (max-time)', { exitCode: 241 }, 'TIMED_OUT'],
    ['supervisor exit 242 (supervisor error)', { exitCode: 242 }, 'ERROR'],
    ['script exit 3', { exitCode: 3 }, 'FAILED'],
    ['exit 0 despite a stop (finished first)', { exitCode: 0, stoppedBy: 'request' }, 'SUCCESSFUL'],
    ['exit 137 after a stop (killed after the grace)', { exitCode: 137, stoppedBy: 'request' }, 'STOPPED'],
    ['exit 2 with a stop that came after the script failed', { exitCode: 2, stoppedBy: 'request' }, 'FAILED'],
    ['exit 137 without a stop (killed by something else)', { exitCode: 137 }, 'FAILED'],
    ['no exit code after a stop', { stoppedBy: 'request' }, 'STOPPED'],
    ['no exit code otherwise', {}, 'ERROR'],
    ['never started', { stoppedBy: 'failedToStart' }, 'ERROR'],
    ['stopped by the infrastructure', { exitCode: 143, stoppedBy: 'platform' }, 'ERROR'],
  ] as const)('a task that ended: %s → %s', (_name, task, status) => {
    const decision = decideStepOutcome({ kind: 'ended', task });
    expect(decision.status).toBe(status);
    expect(decision.exitCode).toBe('exitCode' in task ? task.exitCode : undefined);
  });

  it('a state timeout is TIMED_OUT, a refused begin NOT_RUN, a task that could not run ERROR', () => {
    expect(decideStepOutcome({ kind: 'timedOut' }).status).toBe('TIMED_OUT');
    expect(decideStepOutcome({ kind: 'notRunning' }).status).toBe('NOT_RUN');
    const error = decideStepOutcome({ kind: 'error', error: 'AmazonECS.Unknown', cause: 'RESOURCE:MEMORY' });
    expect(error).toMatchObject({ status: 'ERROR' });
    expect(error.reason).toBe("The step's task could not run (AmazonECS.Unknown: RESOURCE:MEMORY)");
  });
});

function run(overrides: Partial<RunRecord>, steps: Partial<StepRecord>[] = []): RunRecord {
  return {
    runId: 'r',
    repository: 'acme/app',
    buildNumber: 1,
    pipeline: 'default',
    planHash: 'h',
    trigger: { kind: 'branch', ref: 'main', commit: 'c' },
    status: 'RUNNING',
    phase: 'main',
    startedBy: 'alice',
    createdAt: 0,
    variables: {},
    outputs: {},
    locks: {},
    version: 1,
    steps: Object.fromEntries(
      steps.map((step, index) => [
        String(index),
        { index, name: `s${index}`, kind: 'step', status: 'SUCCESSFUL', attempts: 1, ...step } as StepRecord,
      ]),
    ),
    ...overrides,
  };
}

describe('decideRunOutcome', () => {
  it.each([
    ['a stopping run', run({ status: 'STOPPING' }), { Error: 'Step.Stopped' }, 'STOPPED', 'stopped'],
    ['a draining run', run({ status: 'DRAINING' }), { Error: 'Run.NotRunning' }, 'STOPPED', 'drained'],
    ['Step.TimedOut', run({}), { Error: 'Step.TimedOut' }, 'FAILED', 'timedOut'],
    ['Step.Failed', run({}), { Error: 'Step.Failed' }, 'FAILED', 'stepFailed'],
    ['Step.Stopped while running', run({}), { Error: 'Step.Stopped' }, 'STOPPED', 'stopped'],
    ['Approval.Refused', run({}), { Error: 'Approval.Refused' }, 'STOPPED', 'approvalRefused'],
    ['Pipeline.Stopped', run({}), { Error: 'Pipeline.Stopped' }, 'STOPPED', 'stopped'],
    ['an unexpected error', run({}), { Error: 'Lambda.Unknown' }, 'ERROR', 'internal'],
    ['no error, all steps fine', run({}, [{}, { status: 'SKIPPED' }]), undefined, 'SUCCESSFUL', 'succeeded'],
    [
      'no error, a failed step (parallel group)',
      run({}, [{}, { status: 'FAILED' }, { status: 'STOPPED' }]),
      undefined,
      'FAILED',
      'stepFailed',
    ],
    [
      'no error, a timed-out step',
      run({}, [{ status: 'TIMED_OUT' }, { status: 'STOPPED' }]),
      undefined,
      'FAILED',
      'timedOut',
    ],
    [
      'no error, an ignored failure',
      run({}, [{ status: 'FAILED', ignored: true }]),
      undefined,
      'SUCCESSFUL',
      'succeeded',
    ],
    [
      'an outcome already fixed',
      run({ outcome: { status: 'ERROR', reason: 'orphaned' } }),
      { Error: 'Step.Failed' },
      'ERROR',
      'orphaned',
    ],
  ] as const)('%s → %s/%s', (_name, record, error, status, reason) => {
    expect(decideRunOutcome(record, error)).toEqual({ status, reason });
  });
});

describe('decideTerminal and failErrorOf', () => {
  const withFinal = (outcome: RunRecord['outcome'], finalStatus: StepRecord['status']) =>
    run({ outcome, phase: 'final' }, [{}, { kind: 'final', status: finalStatus }]);

  it('keeps the outcome when the final step succeeds', () => {
    expect(decideTerminal(withFinal({ status: 'SUCCESSFUL', reason: 'succeeded' }, 'SUCCESSFUL'))).toEqual({
      status: 'SUCCESSFUL',
      reason: 'succeeded',
    });
    expect(decideTerminal(withFinal({ status: 'FAILED', reason: 'stepFailed' }, 'SUCCESSFUL')).status).toBe(
      'FAILED',
    );
  });

  it('fails a successful run whose final step failed, and keeps a worse outcome', () => {
    expect(decideTerminal(withFinal({ status: 'SUCCESSFUL', reason: 'succeeded' }, 'FAILED'))).toEqual({
      status: 'FAILED',
      reason: 'finalFailed',
    });
    expect(decideTerminal(withFinal({ status: 'STOPPED', reason: 'stopped' }, 'TIMED_OUT'))).toEqual({
      status: 'STOPPED',
      reason: 'stopped',
    });
  });

  it('makes a run whose final step was stopped STOPPED, unless it ended in ERROR', () => {
    expect(decideTerminal(withFinal({ status: 'SUCCESSFUL', reason: 'succeeded' }, 'STOPPED')).status).toBe(
      'STOPPED',
    );
    expect(decideTerminal(withFinal({ status: 'ERROR', reason: 'orphaned' }, 'STOPPED')).status).toBe(
      'ERROR',
    );
  });

  it('names the Fail state error', () => {
    expect(failErrorOf({ status: 'SUCCESSFUL', reason: 'succeeded' })).toBeUndefined();
    expect(failErrorOf({ status: 'FAILED', reason: 'stepFailed' })).toBe('Pipeline.Failed');
    expect(failErrorOf({ status: 'FAILED', reason: 'timedOut' })).toBe('Pipeline.TimedOut');
    expect(failErrorOf({ status: 'STOPPED', reason: 'approvalRefused' })).toBe('Pipeline.Stopped');
    expect(failErrorOf({ status: 'ERROR', reason: 'internal' })).toBe('Pipeline.Error');
  });
});
