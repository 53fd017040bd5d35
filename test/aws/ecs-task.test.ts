// The ECS side of a step's end (aws/ecs-task.ts): what runTask.sync returns, read into the core's
// StepTaskResult, judged by the core's decider — the chain every step's end goes through on both engines.
// The shapes follow the ECS API reference (DescribeTasks' Task, Container; Task.stopCode's values:
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Task.html) and Step Functions' ECS
// integration (States.TaskFailed with the task as the Cause:
// https://docs.aws.amazon.com/step-functions/latest/dg/connect-ecs.html).

import { describe, expect, it } from 'vitest';
import {
  controlRequestOf,
  runTaskSyncAnswer,
  STOP_CODES,
  stepOfRunTask,
  stepTaskResultOf,
} from '../../aws/ecs-task';
import { decideStepOutcome } from '../../core/outcome';

const decide = (result: unknown) => decideStepOutcome(stepTaskResultOf(result));

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

describe('how a step ended, from what runTask.sync gave the definition', () => {
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
    const decision = decide(input);
    expect(decision.status).toBe(status);
    expect(decision.exitCode).toBe(exitCode);
  });

  it('reads the task from a caught States.TaskFailed cause', () => {
    const caught = { Error: 'States.TaskFailed', Cause: JSON.stringify(task(2)) };
    expect(decide(caught)).toMatchObject({
      status: 'FAILED',
      exitCode: 2,
      stopCode: 'EssentialContainerExited',
    });
    const stopped = { Error: 'States.TaskFailed', Cause: JSON.stringify(task(240, 'UserInitiated')) };
    expect(decide(stopped)).toMatchObject({
      status: 'STOPPED',
      exitCode: 240,
      stopCode: 'UserInitiated',
    });
  });

  it('treats the state timeout as TIMED_OUT and other errors as ERROR', () => {
    expect(decide({ Error: 'States.Timeout' }).status).toBe('TIMED_OUT');
    const unknown = decide({ Error: 'AmazonECS.Unknown', Cause: 'RESOURCE:MEMORY' });
    expect(unknown.status).toBe('ERROR');
    expect(unknown.reason).toContain('AmazonECS.Unknown');
    expect(decide({ Error: 'States.TaskFailed', Cause: 'not json' }).status).toBe('ERROR');
    expect(decide({ Error: 'Run.NotRunning' }).status).toBe('NOT_RUN');
    expect(decide(undefined).status).toBe('ERROR');
    expect(decide('text').status).toBe('ERROR');
  });

  it('takes a lone container not named agent as the essential one', () => {
    expect(decide({ Containers: [{ Name: 'local', ExitCode: 5 }] })).toMatchObject({
      status: 'FAILED',
      exitCode: 5,
    });
  });
});

describe('the embedded engine answers as runTask.sync does', () => {
  it('gives back the task for exit 0, and States.TaskFailed with the task as Cause otherwise', () => {
    expect(decide(runTaskSyncAnswer('local:r:s0', { exitCode: 0 }))).toMatchObject({ status: 'SUCCESSFUL' });
    let thrown: Error | undefined;
    try {
      runTaskSyncAnswer('local:r:s0', { exitCode: 137, stop: { reason: 'Stopped by bob' } });
    } catch (error) {
      thrown = error as Error;
    }
    expect(thrown?.name).toBe('States.TaskFailed');
    const caught = { Error: thrown?.name, Cause: thrown?.message };
    expect(stepTaskResultOf(caught)).toEqual({
      kind: 'ended',
      task: {
        exitCode: 137,
        stoppedBy: 'request',
        stopCode: STOP_CODES.requested,
        stoppedReason: 'Stopped by bob',
      },
    });
    expect(decide(caught)).toMatchObject({ status: 'STOPPED', exitCode: 137 });
  });

  it('reads the step a RunTask call runs from its container overrides', () => {
    const parameters = {
      Cluster: 'local',
      TaskDefinition: 'local',
      Overrides: {
        ContainerOverrides: [
          { Name: 'prepare', Environment: [{ Name: 'FINALE_RUN_ID', Value: 'run-1' }] },
          {
            Name: 'agent',
            Environment: [
              { Name: 'FINALE_STEP_INDEX', Value: '3' },
              { Name: 'FINALE_PLAN_HASH', Value: 'abc' },
            ],
          },
        ],
      },
    };
    expect(stepOfRunTask(parameters)).toEqual({ runId: 'run-1', step: 3, planHash: 'abc' });
  });

  it("turns only completeStep's task into a result; every other request passes as sent", () => {
    const start = { action: 'startRun', runId: 'r' } as const;
    expect(controlRequestOf(start)).toBe(start);
    expect(
      controlRequestOf({
        action: 'completeStep',
        runId: 'r',
        step: 1,
        task: { Error: 'States.Timeout' },
        release: ['k'],
      }),
    ).toEqual({ action: 'completeStep', runId: 'r', step: 1, result: { kind: 'timedOut' }, release: ['k'] });
  });
});
