// The verifier's model of Step Functions: which errors Catchers take, which JSONPaths a state reads,
// and which are provably present where.

import { describe, expect, it } from 'vitest';
import type { AslDefinition, AslState } from '../../../statemachine/compiler/plan';
import { RESOURCES } from '../../../statemachine/compiler/plan';
import { CONTROL_RESULT_FIELDS } from '../../../statemachine/verify/contract';
import { ANY_ERROR, catcherFor, raisedBy } from '../../../statemachine/verify/errors';
import { buildGraph, type Catcher } from '../../../statemachine/verify/graph';
import { parsePath, pathsReadBy } from '../../../statemachine/verify/jsonpath';
import { analyzePaths, executionInputShape } from '../../../statemachine/verify/paths';
import { lookup, type Shape } from '../../../statemachine/verify/shape';
import { planOf } from '../compiler/support';

const catcher = (...errorEquals: string[]): Catcher => ({ errorEquals, next: 'X', resultPath: null });

describe('which Catcher takes an error', () => {
  // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html: "A retry or
  // catch on States.ALL won't catch States.Runtime errors."
  it('States.ALL takes every error but States.Runtime (and NoChoiceMatched, which no Catch sees)', () => {
    const all = [catcher('States.ALL')];
    expect(catcherFor(all, ANY_ERROR)).toBe(0);
    expect(catcherFor(all, 'States.Timeout')).toBe(0);
    expect(catcherFor(all, 'Step.Failed')).toBe(0);
    expect(catcherFor(all, 'States.Runtime')).toBeUndefined();
    expect(catcherFor([catcher('States.Runtime')], 'States.Runtime')).toBeUndefined();
    expect(catcherFor(all, 'States.NoChoiceMatched')).toBeUndefined();
  });

  it('a Catcher with names takes only those, and the first that matches wins', () => {
    const named = [catcher('Final.AlreadyRan', 'Final.StillRunning'), catcher('States.ALL')];
    expect(catcherFor(named, 'Final.StillRunning')).toBe(0);
    expect(catcherFor(named, ANY_ERROR)).toBe(1);
    expect(catcherFor([catcher('Step.Retry')], ANY_ERROR)).toBeUndefined();
  });

  it('States.TaskFailed takes any error but a timeout', () => {
    const failed = [catcher('States.TaskFailed')];
    expect(catcherFor(failed, ANY_ERROR)).toBe(0);
    expect(catcherFor(failed, 'States.Timeout')).toBeUndefined();
  });
});

describe('which errors a state raises', () => {
  const task = (extra: Record<string, unknown>): AslState => ({
    Type: 'Task',
    Resource: RESOURCES.runTask,
    ...extra,
  });
  const names = (state: AslState, missing: string[] = []) => raisedBy(state, missing, []).map((e) => e.name);

  it('a Task: any error, each name its Catch spells, and its timeouts', () => {
    expect(names(task({}))).toEqual([ANY_ERROR]);
    expect(
      names(task({ TimeoutSeconds: 5, HeartbeatSeconds: 1, Catch: [{ ErrorEquals: ['A.B'], Next: 'X' }] })),
    ).toEqual([ANY_ERROR, 'A.B', 'States.Timeout', 'States.HeartbeatTimeout']);
  });

  it('States.Runtime when a path it reads may be missing; a Choice without Default, NoChoiceMatched', () => {
    expect(names(task({}), ['$.x'])).toContain('States.Runtime');
    expect(names({ Type: 'Choice', Choices: [] })).toEqual(['States.NoChoiceMatched']);
    expect(names({ Type: 'Choice', Choices: [], Default: 'X' })).toEqual([]);
    expect(names({ Type: 'Pass', Next: 'X' })).toEqual([]);
  });
});

describe('JSONPaths', () => {
  it('reads the paths inside intrinsic functions, not the `$` in their strings', () => {
    expect(pathsReadBy("States.Format('finale:{}', $$.Execution.Input.runId)")).toEqual([
      '$$.Execution.Input.runId',
    ]);
    expect(pathsReadBy("States.Format('{} costs $5', States.ArrayGetItem($.a, 0), $.b.c)")).toEqual([
      '$.a',
      '$.b.c',
    ]);
    expect(pathsReadBy('$.task')).toEqual(['$.task']);
  });

  it('understands reference paths only', () => {
    expect(parsePath("$.group[0]['ok']")).toEqual({ root: '$', keys: ['group', '0', 'ok'] });
    expect(parsePath('$$.Task.Token')).toEqual({ root: '$$', keys: ['Task', 'Token'] });
    expect(parsePath('$.a[*]')).toBeUndefined();
    expect(parsePath('$..a')).toBeUndefined();
  });
});

describe('which paths are provably present', () => {
  const EMPTY = executionInputShape([]);
  const facts = (States: Record<string, AslState>) =>
    analyzePaths(buildGraph({ StartAt: Object.keys(States)[0]!, States } as AslDefinition), EMPTY);
  const present = (input: Shape | undefined, path: string) =>
    lookup(input!, parsePath(path)!.keys) !== undefined;
  const control = (action: string, extra: Record<string, unknown>): AslState => ({
    Type: 'Task',
    Resource: RESOURCES.control,
    Parameters: { Payload: { action } },
    ...extra,
  });

  it('the execution input is ExecutionInput, with a task definition per step that runs', () => {
    const plan = planOf('on-fail');
    const shape = executionInputShape(plan.steps.map((s, i) => ({ ...s, skipped: i === 1 })));
    expect(present(shape, '$.env.taskDefinitions.s0')).toBe(true);
    expect(present(shape, '$.env.taskDefinitions.s1')).toBe(false);
    for (const path of ['$.runId', '$.planHash', '$.recover', '$.env.control', '$.env.assignPublicIp'])
      expect(present(shape, path)).toBe(true);
  });

  it('a lambda:invoke of a control action returns its Payload fields; a token wait returns nothing known', () => {
    const { inputs } = facts({
      Finish: control('finishRun', { ResultPath: '$.finish', Next: 'Wait' }),
      Wait: { Type: 'Task', Resource: RESOURCES.controlWait, ResultPath: '$.waited', Next: 'Done' },
      Done: { Type: 'Succeed' },
    });
    for (const field of CONTROL_RESULT_FIELDS.finishRun)
      expect(present(inputs.get('Wait'), `$.finish.Payload.${field}`)).toBe(true);
    expect(present(inputs.get('Done'), '$.waited')).toBe(true);
    expect(present(inputs.get('Done'), '$.waited.Payload')).toBe(false);
  });

  it('a Catch ResultPath adds Error and Cause; at a join only what every way in has is present', () => {
    const { inputs, missing } = facts({
      Work: control('startRun', {
        ResultPath: '$.result',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed', ResultPath: '$.error' }],
        Next: 'Join',
      }),
      Failed: { Type: 'Pass', Next: 'Join' },
      Join: { Type: 'Pass', Parameters: { 'status.$': '$.result.Payload.status' }, Next: 'Done' },
      Done: { Type: 'Succeed' },
    });
    expect(present(inputs.get('Failed'), '$.error.Error')).toBe(true);
    expect(present(inputs.get('Failed'), '$.error.Cause')).toBe(true);
    expect(present(inputs.get('Failed'), '$.result')).toBe(false);
    expect(present(inputs.get('Join'), '$.runId')).toBe(true);
    expect(present(inputs.get('Join'), '$.result')).toBe(false);
    expect(present(inputs.get('Join'), '$.error')).toBe(false);
    expect(missing.get('Join')).toEqual(['$.result.Payload.status']);
  });

  it('a Parallel result has what each branch ends with on every path', () => {
    const { inputs, missing } = facts({
      Group: {
        Type: 'Parallel',
        ResultPath: '$.group',
        Branches: [
          {
            StartAt: 'A',
            States: {
              A: {
                Type: 'Choice',
                Choices: [{ Variable: '$.recover', BooleanEquals: true, Next: 'A1' }],
                Default: 'A2',
              },
              A1: { Type: 'Pass', Result: { ok: true, one: 1 }, End: true },
              A2: { Type: 'Pass', Result: { ok: false }, End: true },
            },
          },
          { StartAt: 'B', States: { B: { Type: 'Pass', Result: { ok: true }, End: true } } },
        ],
        Next: 'Check',
      },
      Check: {
        Type: 'Choice',
        Choices: [
          {
            Or: [
              { Variable: '$.group[0].ok', BooleanEquals: false },
              { Variable: '$.group[1].ok', BooleanEquals: false },
            ],
            Next: 'Done',
          },
        ],
        Default: 'Done',
      },
      Done: { Type: 'Succeed' },
    });
    expect(missing.get('Check')).toEqual([]);
    expect(present(inputs.get('Check'), '$.group[0].one')).toBe(false);
    expect(present(inputs.get('A'), '$.recover')).toBe(true);
  });

  it('an IsPresent rule proves its path on its own edge, and is not itself a read', () => {
    const { inputs, missing } = facts({
      Ask: {
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.x', IsPresent: true },
              { Variable: '$.x', BooleanEquals: true },
            ],
            Next: 'Yes',
          },
        ],
        Default: 'No',
      },
      Yes: { Type: 'Succeed' },
      No: { Type: 'Succeed' },
    });
    // No short-circuit is assumed: the comparison in the And reads $.x whether or not it is there.
    expect(missing.get('Ask')).toEqual(['$.x']);
    expect(present(inputs.get('Yes'), '$.x')).toBe(true);
    expect(present(inputs.get('No'), '$.x')).toBe(false);
  });

  it('OutputPath narrows, ResultPath null keeps the input, a Pass Result is its result', () => {
    const { inputs } = facts({
      Keep: control('beginStep', { ResultPath: null, Next: 'Set' }),
      Set: { Type: 'Pass', Result: { a: { b: 1 } }, ResultPath: '$.set', Next: 'Narrow' },
      Narrow: { Type: 'Pass', OutputPath: '$.set', Next: 'Done' },
      Done: { Type: 'Succeed' },
    });
    expect(present(inputs.get('Set'), '$.runId')).toBe(true);
    expect(present(inputs.get('Narrow'), '$.set.a.b')).toBe(true);
    expect(present(inputs.get('Done'), '$.a.b')).toBe(true);
    expect(present(inputs.get('Done'), '$.runId')).toBe(false);
  });

  it('settles on cycles', () => {
    const { inputs } = facts({
      Loop: { Type: 'Pass', Result: 1, ResultPath: '$.n', Next: 'Again' },
      Again: {
        Type: 'Choice',
        Choices: [{ Variable: '$.n', NumericLessThan: 3, Next: 'Loop' }],
        Default: 'Done',
      },
      Done: { Type: 'Succeed' },
    });
    expect(present(inputs.get('Loop'), '$.n')).toBe(false);
    expect(present(inputs.get('Done'), '$.n')).toBe(true);
  });
});
