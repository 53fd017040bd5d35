import { describe, expect, it } from 'vitest';
import { decideRunOutcome, decideStepOutcome, decideTerminal, failErrorOf } from '../../core/outcome';
import type { RunRecord, StepRecord } from '../../store/records';

const task = (
  exitCode: number | null | undefined,
  stopCode = 'EssentialContainerExited',
  extra: object = {},
) => ({
  TaskArn: 'arn:aws:ecs:us-east-1:123456789012:task/finale/abc',
  StopCode: stopCode,
  StoppedReason: 'Essential container in task exited',
  Containers: [
    { Name: 'prepare', ExitCode: 0 },
    { Name: 'step', ExitCode: 7 },
    { Name: 'agent', ...(exitCode === undefined ? {} : { ExitCode: exitCode }) },
  ],
  ...extra,
});

describe('decideStepOutcome', () => {
  it.each([
    ['agent exit 0', task(0), 'SUCCESSFUL', 0],
    ['agent exit 240 (stopped by the supervisor)', task(240, 'UserInitiated'), 'STOPPED', 240],
    ['agent exit 241 (max-time)', task(241), 'TIMED_OUT', 241],
    ['agent exit 242 (supervisor error)', task(242), 'ERROR', 242],
    ['agent exit 3 (script failed)', task(3), 'FAILED', 3],
    ['exit 0 despite a StopTask (finished first)', task(0, 'UserInitiated'), 'SUCCESSFUL', 0],
    ['exit 137 after StopTask (killed after the grace)', task(137, 'UserInitiated'), 'STOPPED', 137],
    ['exit 2 with a stop that came after the script failed', task(2, 'UserInitiated'), 'FAILED', 2],
    ['no exit code after StopTask', task(undefined, 'UserInitiated'), 'STOPPED', undefined],
    ['no exit code otherwise', task(undefined), 'ERROR', undefined],
    ['null exit code', task(null), 'ERROR', undefined],
    ['task failed to start', task(undefined, 'TaskFailedToStart'), 'ERROR', undefined],
    ['spot interruption', task(143, 'SpotInterruption'), 'ERROR', 143],
  ])('%s → %s', (_name, input, status, exitCode) => {
    const decision = decideStepOutcome(input);
    expect(decision.status).toBe(status);
    expect(decision.exitCode).toBe(exitCode);
  });

  it('reads the task from a caught States.TaskFailed cause', () => {
    const caught = { Error: 'States.TaskFailed', Cause: JSON.stringify(task(2)) };
    expect(decideStepOutcome(caught)).toMatchObject({
      status: 'FAILED',
      exitCode: 2,
      stopCode: 'EssentialContainerExited',
    });
    const stopped = { Error: 'States.TaskFailed', Cause: JSON.stringify(task(240, 'UserInitiated')) };
    expect(decideStepOutcome(stopped)).toMatchObject({
      status: 'STOPPED',
      exitCode: 240,
      stopCode: 'UserInitiated',
    });
  });

  it('treats the state timeout as TIMED_OUT and other errors as ERROR', () => {
    expect(decideStepOutcome({ Error: 'States.Timeout' }).status).toBe('TIMED_OUT');
    const unknown = decideStepOutcome({ Error: 'AmazonECS.Unknown', Cause: 'RESOURCE:MEMORY' });
    expect(unknown.status).toBe('ERROR');
    expect(unknown.reason).toContain('AmazonECS.Unknown');
    expect(decideStepOutcome({ Error: 'States.TaskFailed', Cause: 'not json' }).status).toBe('ERROR');
    expect(decideStepOutcome({ Error: 'Run.NotRunning' }).status).toBe('NOT_RUN');
    expect(decideStepOutcome(undefined).status).toBe('ERROR');
    expect(decideStepOutcome('text').status).toBe('ERROR');
  });

  it('accepts the camelCase task of an ECS event, and a lone container not named agent', () => {
    expect(
      decideStepOutcome({
        stopCode: 'EssentialContainerExited',
        containers: [{ name: 'agent', exitCode: 0 }],
      }).status,
    ).toBe('SUCCESSFUL');
    expect(decideStepOutcome({ Containers: [{ Name: 'local', ExitCode: 5 }] })).toMatchObject({
      status: 'FAILED',
      exitCode: 5,
    });
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
