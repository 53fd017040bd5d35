import { describe, expect, it } from 'vitest';
import { RUN_STATES } from '../../../statemachine/compiler/index';
import { type AslDefinition, type AslState, RESOURCES } from '../../../statemachine/compiler/plan';
import { RUN_TASK_TRANSIENT_RETRY } from '../../../statemachine/compiler/states';
import { planOf, planOfYaml } from './support';

type State = AslState & {
  Parameters?: { Payload?: Record<string, unknown> } & Record<string, unknown>;
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string | null }[];
  Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[];
  Branches?: AslDefinition[];
};

function flatten(states: Record<string, AslState>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [
    [name, state as State] as [string, State],
    ...((state as State).Branches ?? []).flatMap((branch) => flatten(branch.States)),
  ]);
}

const payload = (state: State) => state.Parameters?.Payload ?? {};

describe('compiled state machine shape', () => {
  it('names the step states after the steps, and the final step `[Final Step] <name>`', () => {
    const plan = planOf('final');
    const names = Object.keys(plan.definition.States);
    expect(names).toContain('Create test environment');
    expect(names).toContain('Run tests');
    expect(names).toContain('[Final Step] Tear down');
    expect(plan.steps.map((step) => step.stateName)).toEqual([
      'Create test environment',
      'Run tests',
      '[Final Step] Tear down',
    ]);
    expect(plan.steps.map((step) => step.kind)).toEqual(['step', 'step', 'final']);
  });

  it('runs every step as an ECS runTask.sync task that names the spec, never the script', () => {
    const plan = planOf('plain');
    const tasks = flatten(plan.definition.States).filter(([, state]) => state.Resource === RESOURCES.runTask);
    expect(tasks.map(([name]) => name)).toEqual(['Build', 'Test']);
    for (const [, state] of tasks) {
      const text = JSON.stringify(state.Parameters);
      expect(text).not.toContain('npm');
      expect(text).toContain('FINALE_STEP_INDEX');
      expect(text).toContain('$$.Execution.Input.planHash');
    }
  });

  it('makes every state before the final step catch States.ALL and route to Finalize', () => {
    for (const name of ['plain', 'deployment-stage', 'manual', 'final', 'on-fail', 'max-time']) {
      const plan = planOf(name);
      const finalize = Object.keys(plan.definition.States).indexOf(RUN_STATES.finalize);
      Object.entries(plan.definition.States)
        .slice(0, finalize)
        .forEach(([stateName, state]) => {
          const s = state as State;
          if (s.Type === 'Choice') return;
          const catchAll = s.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
          expect(catchAll, `${name}: ${stateName}`).toBeDefined();
          // The step task hands its error to its End state, which decides and then routes.
          if (s.Resource === RESOURCES.runTask) expect(catchAll?.Next).toBe(`End: ${stateName}`);
          else expect(catchAll?.Next).toBe(RUN_STATES.finalize);
        });
    }
  });

  it('keeps the final path going whatever fails, so locks are always released', () => {
    const plan = planOf('final');
    const states = plan.definition.States as Record<string, State>;
    expect(states[RUN_STATES.finalize]?.Catch?.[0]?.Next).toBe('Begin: [Final Step] Tear down');
    // A final step that ran already, or still runs from an earlier engine, is not run again.
    expect(states['Begin: [Final Step] Tear down']?.Catch?.[0]).toEqual({
      ErrorEquals: ['Final.AlreadyRan', 'Final.StillRunning'],
      Next: RUN_STATES.finishRun,
      ResultPath: '$.beginError',
    });
    expect(states['Begin: [Final Step] Tear down']?.Catch?.[1]?.Next).toBe('[Final Step] Tear down');
    expect(states['End: [Final Step] Tear down']?.Catch?.[0]?.Next).toBe(RUN_STATES.finishRun);
    expect(states[RUN_STATES.finishRun]?.Catch?.[0]?.Next).toBe(RUN_STATES.error);
  });

  it('ends in a Fail state whose Error names the outcome', () => {
    const states = planOf('plain').definition.States as Record<string, State>;
    expect(states[RUN_STATES.succeeded]?.Type).toBe('Succeed');
    expect(
      [RUN_STATES.failed, RUN_STATES.stopped, RUN_STATES.timedOut, RUN_STATES.error].map(
        (n) => states[n]?.Error,
      ),
    ).toEqual(['Pipeline.Failed', 'Pipeline.Stopped', 'Pipeline.TimedOut', 'Pipeline.Error']);
  });

  it('sets TimeoutSeconds on every Task state (the local interpreter would default to 60 s)', () => {
    for (const name of ['plain', 'parallel', 'manual', 'final', 'deployment-stage']) {
      for (const [stateName, state] of flatten(planOf(name).definition.States)) {
        if (state.Type === 'Task') expect(state.TimeoutSeconds, stateName).toBeGreaterThan(0);
      }
    }
  });

  it('turns max-time into the task timeout (max-time + grace + after-script + start) and the spec', () => {
    const plan = planOf('max-time');
    const states = plan.definition.States as Record<string, State>;
    expect(plan.steps.map((step) => step.maxTimeMinutes)).toEqual([5, 30]);
    expect(states.Quick?.TimeoutSeconds).toBe(5 * 60 + 30 + 600 + 300);
    expect(states.Slow?.TimeoutSeconds).toBe(30 * 60 + 30 + 600 + 300);
  });

  it('puts a .waitForTaskToken approval before a manual step, then its lock, then the step', () => {
    const plan = planOf('manual');
    const states = plan.definition.States as Record<string, State>;
    expect(states['End: Build']?.Next).toBe('Approve: Deploy');
    expect(states['Approve: Deploy']?.Resource).toBe(RESOURCES.controlWait);
    expect(payload(states['Approve: Deploy']!)).toMatchObject({
      action: 'awaitApproval',
      'taskToken.$': '$$.Task.Token',
    });
    expect(states['Approve: Deploy']?.Next).toBe('Lock: production');
    expect(payload(states['Lock: production']!)).toMatchObject({
      action: 'acquireLock',
      lock: 'deployment:production',
    });
    expect(states['Lock: production']?.Next).toBe('Begin: Deploy');
    // Released on the success path by the step's End; on every other path by Finish run.
    expect(payload(states['End: Deploy']!).release).toEqual(['deployment:production']);
    expect(plan.steps[1]?.trigger).toBe('manual');
  });

  it('holds one lock across a deployment stage: acquired before its first step, released by its last', () => {
    const plan = planOf('deployment-stage');
    const states = plan.definition.States as Record<string, State>;
    const locks = flatten(plan.definition.States).filter(([, s]) => payload(s).action === 'acquireLock');
    expect(locks.map(([name]) => name)).toEqual(['Lock: production']);
    expect(states['End: Build']?.Next).toBe('Lock: production');
    expect(payload(states['End: Migrate']!).release).toBeUndefined();
    expect(payload(states['End: Release']!).release).toEqual(['deployment:production']);
    expect(plan.locks).toEqual([
      expect.objectContaining({ key: 'deployment:production', kind: 'deployment', steps: [1, 2] }),
    ]);
    // The lease outlasts both steps end to end.
    expect(plan.locks[0]?.leaseSeconds).toBe(2 * (120 * 60 + 30 + 600 + 300));
  });

  it('compiles parallel groups to Parallel states whose branches always complete, then checks them', () => {
    const plan = planOf('parallel');
    const states = plan.definition.States as Record<string, State>;
    const groups = Object.entries(states).filter(([, s]) => s.Type === 'Parallel');
    expect(groups.map(([name]) => name)).toEqual([
      'Parallel: Unit, Lint',
      'Parallel: Integration 1, Integration 2',
    ]);
    const [first, second] = groups.map(([, s]) => s);
    for (const branch of first!.Branches!) {
      const end = Object.entries(branch.States).find(([name]) => name.startsWith('End: '))![1] as State;
      expect(payload(end).parallel).toEqual({ failFast: false, steps: [0, 1] });
    }
    for (const branch of second!.Branches!) {
      const end = Object.entries(branch.States).find(([name]) => name.startsWith('End: '))![1] as State;
      expect(payload(end).parallel).toEqual({ failFast: true, steps: [2, 3] });
    }
    expect(states['Check: Parallel: Unit, Lint']).toMatchObject({
      Type: 'Choice',
      Choices: [{ Next: RUN_STATES.finalize }],
      Default: 'Parallel: Integration 1, Integration 2',
    });
    expect(plan.steps.map((s) => s.environment.BITBUCKET_PARALLEL_STEP)).toEqual(['0', '1', '0', '1']);
    expect(plan.steps.map((s) => s.environment.BITBUCKET_PARALLEL_STEP_COUNT)).toEqual(['2', '2', '2', '2']);
  });

  it('loops a retried step back to its Begin through a Step.Retry catch; the task retries only RunTask refusals', () => {
    const plan = planOf('on-fail');
    const states = plan.definition.States as Record<string, State>;
    expect(states['End: Flaky tests']?.Catch?.[0]).toEqual({
      ErrorEquals: ['Step.Retry'],
      Next: 'Begin: Flaky tests',
      ResultPath: null,
    });
    // A Retry on the task would run a failed script again behind completeStep's back: the task
    // retries only RunTask's refusals, which started no task.
    expect(states['Flaky tests']?.Retry).toEqual([RUN_TASK_TRANSIENT_RETRY]);
    expect(RUN_TASK_TRANSIENT_RETRY.ErrorEquals.every((name) => name.startsWith('ECS.'))).toBe(true);
    expect(states['End: Optional audit']?.Catch?.map((c) => c.ErrorEquals[0])).toEqual(['States.ALL']);
    expect(plan.steps.map((s) => s.onFail)).toEqual([
      { strategy: 'retry', maxRetryCount: 2 },
      { strategy: 'ignore', maxRetryCount: 0 },
      { strategy: 'fail', maxRetryCount: 0 },
    ]);
  });

  it('makes state names unique and at most 80 characters, keeping the step names readable', () => {
    const long = 'A very long step name that goes on and on well past what Step Functions allows for names';
    const plan = planOfYaml(`pipelines:
  default:
    - step: {name: Build, script: [a]}
    - step: {name: Build, script: [b]}
    - step: {name: Finalize, script: [c]}
    - step: {name: "${long}", script: [d]}
    - step: {name: Default, script: [e]}
`);
    const names = flatten(plan.definition.States).map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect(Math.max(...names.map((name) => [...name].length))).toBeLessThanOrEqual(80);
    expect(plan.steps.map((s) => s.stateName)).toEqual([
      'Build',
      'Build (2)',
      'Finalize (2)',
      expect.stringMatching(/^A very long step name.*…$/),
      // An ASL field name would confuse validators that search the definition for transitions.
      'Default (2)',
    ]);
    expect(plan.stats.longestStateName).toBeLessThanOrEqual(80);
  });

  it('resolves defaults into the step specs: image, size as Fargate cpu/memory, stop settings', () => {
    const plan = planOfYaml(
      `image: node:20
pipelines:
  default:
    - step: {name: A, script: [a]}
    - step: {name: B, size: 2x, image: {name: python:3.12}, script: [b], after-script: [c]}
`,
      'default',
      { stop: { graceful: true, signal: 'INT', graceSeconds: 90 } },
    );
    expect(plan.steps.map((s) => [s.image.name, s.size, s.cpu, s.memory])).toEqual([
      ['node:20', '1x', 1024, 4096],
      ['python:3.12', '2x', 2048, 8192],
    ]);
    expect(plan.steps[1]?.stop).toEqual({ graceful: true, signal: 'INT', graceSeconds: 90 });
    expect(plan.steps[1]?.afterScript).toEqual(['c']);
  });

  it('skips steps whose changeset condition excludes every changed file', () => {
    const yaml = `pipelines:
  default:
    - step:
        name: Docs
        condition:
          changesets:
            includePaths: ["docs/**"]
        script: [make docs]
    - step: {name: Build, script: [make]}
`;
    const touched = planOfYaml(yaml, 'default', { changedFiles: ['docs/index.md'] });
    const untouched = planOfYaml(yaml, 'default', { changedFiles: ['src/main.ts'] });
    const unknown = planOfYaml(yaml);
    expect(Object.keys(touched.definition.States)).toContain('Docs');
    expect(Object.keys(untouched.definition.States)).not.toContain('Docs');
    expect(untouched.steps[0]?.skipped).toBe(true);
    expect(unknown.steps[0]?.skipped).toBe(false);
  });

  it('runs a pipe as `docker run` of its image, and fails a child pipeline step visibly', () => {
    const plan = planOfYaml(`pipelines:
  default:
    - step:
        name: Notify
        script:
          - pipe: atlassian/slack-notify:2.0.0
            variables:
              WEBHOOK_URL: $SLACK
    - step:
        name: Child
        type: pipeline
        custom: all
  custom:
    all:
      - step: {name: Inner, script: [make]}
`);
    expect(plan.steps[0]?.script).toEqual([
      'docker run --rm -v "$BITBUCKET_CLONE_DIR:$BITBUCKET_CLONE_DIR" -w "$BITBUCKET_CLONE_DIR" -e "WEBHOOK_URL=$SLACK" "bitbucketpipelines/slack-notify:2.0.0"',
    ]);
    expect(plan.steps[1]?.script).toEqual([
      "echo 'finale: this step would start the child pipeline custom:all; Finale does not run child pipelines' >&2; exit 1",
    ]);
  });

  it('names the environment of `environment` without a lock, and of `deployment` with one', () => {
    const plan = planOfYaml(`pipelines:
  default:
    - step: {name: Check, environment: staging, script: [a]}
    - step: {name: Ship, deployment: production, script: [b]}
`);
    expect(plan.steps.map((s) => [s.environment.BITBUCKET_DEPLOYMENT_ENVIRONMENT, s.locks])).toEqual([
      ['staging', []],
      ['production', ['deployment:production']],
    ]);
  });

  it('makes a parallel group fail fast when a step with its own fail-fast fails', () => {
    const plan = planOfYaml(`pipelines:
  default:
    - parallel:
        - step: {name: Critical, fail-fast: true, script: [a]}
        - step: {name: Other, script: [b]}
`);
    const [group] = Object.values(plan.definition.States).filter((s) => s.Type === 'Parallel') as State[];
    const ends = group!.Branches!.map(
      (branch) =>
        payload(Object.entries(branch.States).find(([name]) => name.startsWith('End: '))![1] as State)
          .parallel,
    );
    expect(ends).toEqual([
      { failFast: true, steps: [0, 1] },
      { failFast: false, steps: [0, 1] },
    ]);
  });
});
