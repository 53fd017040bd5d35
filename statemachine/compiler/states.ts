// Builders for the few kinds of state the compiler emits. Every Task state sets TimeoutSeconds: AWS
// defaults to a year, and the local interpreter to 60 s.

import type { ControlRequest } from '../../vocabulary/contract';
import { type AslState, RESOURCES, type StepSpec, TASK_CONTAINERS, TASK_ENV } from './plan';

const INPUT = '$$.Execution.Input';

/** Transient Lambda errors AWS recommends retrying; domain errors (Step.*, Run.*) are never retried. */
const LAMBDA_TRANSIENT_RETRY = {
  ErrorEquals: [
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  IntervalSeconds: 1,
  MaxAttempts: 3,
  BackoffRate: 2,
} as const;

/**
 * RunTask refused for reasons that are not the step's: no Fargate capacity in the zones ("Capacity is
 * unavailable at this time", which Step Functions raises as ECS.AmazonECSException:
 * repost.aws/knowledge-center/ecs-fargate-runtask-capacity), an ECS server error, throttling. No
 * task was started, so starting again is safe; the waits grow to 5 minutes, jittered so that the
 * steps of many runs refused together do not come back together. Counted apart from `on-fail`
 * retries, which run the step again after it ran.
 */
export const RUN_TASK_TRANSIENT_RETRY = {
  ErrorEquals: ['ECS.AmazonECSException', 'ECS.ServerException', 'ECS.ThrottlingException'],
  IntervalSeconds: 10,
  MaxAttempts: 6,
  BackoffRate: 2,
  MaxDelaySeconds: 300,
  JitterStrategy: 'FULL',
} as const;

const CONTROL_TIMEOUT_SECONDS = 60;
export const APPROVAL_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** A lock wait re-runs acquire this often, so an expired lease is taken over without a releaser. */
export const LOCK_RECHECK_SECONDS = 6 * 3600;
/** How many re-checks before the wait gives up (7 days in all). */
export const LOCK_RECHECKS = 27;

/** A control request as written in the definition: static fields, plus `field.$` JSONPaths. */
type Payload<A extends ControlRequest['action']> = { readonly action: A } & Readonly<Record<string, unknown>>;

export interface Catcher {
  readonly ErrorEquals: readonly string[];
  readonly Next: string;
  readonly ResultPath: string | null;
}

export const catchAll = (next: string, resultPath: string | null): Catcher => ({
  ErrorEquals: ['States.ALL'],
  Next: next,
  ResultPath: resultPath,
});

type Flow = { readonly Next: string } | { readonly End: true };

function controlParameters(payload: Record<string, unknown>, waitForToken: boolean) {
  return {
    'FunctionName.$': `${INPUT}.env.control`,
    Payload: {
      ...payload,
      'runId.$': `${INPUT}.runId`,
      ...(waitForToken ? { 'taskToken.$': '$$.Task.Token' } : {}),
    },
  };
}

/** A control action (vocabulary/contract.ts) invoked through the control Lambda. */
export function controlState<A extends ControlRequest['action']>(
  payload: Payload<A>,
  shape: {
    readonly resultSelector?: Readonly<Record<string, unknown>>;
    readonly resultPath: string | null;
    readonly outputPath?: string;
    readonly catch: readonly Catcher[];
    readonly retry?: readonly object[];
  } & Flow,
): AslState {
  const { resultSelector, resultPath, outputPath, catch: catchers, retry, ...flow } = shape;
  return {
    Type: 'Task',
    Resource: RESOURCES.control,
    Parameters: controlParameters(payload, false),
    ...(resultSelector ? { ResultSelector: resultSelector } : {}),
    ResultPath: resultPath,
    ...(outputPath ? { OutputPath: outputPath } : {}),
    TimeoutSeconds: CONTROL_TIMEOUT_SECONDS,
    Retry: [...(retry ?? []), LAMBDA_TRANSIENT_RETRY],
    Catch: catchers,
    ...flow,
  };
}

/** A control action that parks its task token and waits for SendTaskSuccess/Failure. */
export function waitState<A extends 'awaitApproval' | 'acquireLock'>(
  payload: Payload<A>,
  shape: {
    readonly timeoutSeconds: number;
    readonly retry?: readonly object[];
    readonly catch: readonly Catcher[];
  } & Flow,
): AslState {
  const { timeoutSeconds, retry, catch: catchers, ...flow } = shape;
  return {
    Type: 'Task',
    Resource: RESOURCES.controlWait,
    Parameters: controlParameters(payload, true),
    ResultPath: null,
    TimeoutSeconds: timeoutSeconds,
    Retry: [...(retry ?? []), LAMBDA_TRANSIENT_RETRY],
    Catch: catchers,
    ...flow,
  };
}

/**
 * The step itself: an ECS task. The parameters name the spec (run, step index, plan hash), never the
 * script, which would not fit in ECS's 8 KB of overrides.
 */
export function runTaskState(
  spec: StepSpec,
  timeoutSeconds: number,
  catchers: readonly Catcher[],
  next: string,
): AslState {
  return {
    Type: 'Task',
    Resource: RESOURCES.runTask,
    Parameters: {
      LaunchType: 'FARGATE',
      PlatformVersion: 'LATEST',
      'Cluster.$': `${INPUT}.env.cluster`,
      'TaskDefinition.$': `${INPUT}.env.taskDefinitions.s${spec.index}`,
      'Group.$': `States.Format('finale:{}', ${INPUT}.runId)`,
      NetworkConfiguration: {
        AwsvpcConfiguration: {
          'Subnets.$': `${INPUT}.env.subnets`,
          'SecurityGroups.$': `${INPUT}.env.securityGroups`,
          'AssignPublicIp.$': `${INPUT}.env.assignPublicIp`,
        },
      },
      Overrides: {
        ContainerOverrides: [
          {
            Name: TASK_CONTAINERS.agent,
            Environment: [
              { Name: TASK_ENV.runId, 'Value.$': `${INPUT}.runId` },
              { Name: TASK_ENV.step, Value: String(spec.index) },
              { Name: TASK_ENV.plan, 'Value.$': `${INPUT}.planHash` },
            ],
          },
        ],
      },
      PropagateTags: 'TASK_DEFINITION',
    },
    ResultPath: '$.task',
    TimeoutSeconds: timeoutSeconds,
    Retry: [RUN_TASK_TRANSIENT_RETRY],
    Catch: catchers,
    Next: next,
  };
}
