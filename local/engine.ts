// The embedded engine: aws-local-stepfunctions executes the compiled definition unchanged, and every
// Task state is served by a local handler for its resource — the control Lambda's dispatch, the token
// registry for `.waitForTaskToken`, and the process runner for ECS. No orchestration lives here.

import './polyfills';
import { StateMachine } from 'aws-local-stepfunctions';
import { stepOfRunTask } from '../aws/ecs-task';
import type { AslDefinition, AslState, ExecutionInput, Plan } from '../statemachine/compiler/plan';
import { RESOURCES } from '../statemachine/compiler/plan';
import type { ControlPayload } from '../vocabulary/contract';
import type { TaskTokens } from './tokens';

/** The parts of aws-local-stepfunctions' history events that Finale reads. */
export interface HistoryEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly state?: { readonly name: string; readonly type: string };
  readonly Error?: string;
  readonly Cause?: unknown;
}

/** What the local ECS stand-in needs to run one step; the same facts an ECS task gets from its overrides. */
export interface StepTaskRequest {
  readonly runId: string;
  readonly step: number;
  readonly planHash: string;
  /** The state's TimeoutSeconds: Step Functions stops the task when it passes. */
  readonly timeoutSeconds: number;
}

export interface LocalTasks {
  /** Runs the step to its end; resolves with an ECS-like task object, or throws States.TaskFailed. */
  run(request: StepTaskRequest): Promise<unknown>;
}

interface EngineDeps {
  /** The control Lambda's core: the same function the Lambda handler calls. */
  readonly control: (request: ControlPayload) => Promise<unknown>;
  readonly tokens: TaskTokens;
  readonly tasks: LocalTasks;
  /** Every history event, in order; the execution counts as done once the last one is handled. */
  readonly onEvent?: (event: HistoryEvent) => void | Promise<void>;
  /** Milliseconds each Retry waits instead of its IntervalSeconds (scaled time, for the fault simulation). */
  readonly retryIntervalMs?: number;
}

interface Execution {
  readonly id: string;
  /** Settles when the execution ends: the output, or the Fail state's error. */
  readonly done: Promise<
    { status: 'SUCCEEDED'; output: unknown } | { status: 'FAILED'; error: string; cause: string }
  >;
  /** Ends the execution where it stands: no further state runs (a handler in flight is not cancelled). */
  abort(): void;
}

type TaskHandler = (input: unknown) => Promise<unknown>;

/** The execution input on this machine: no AWS resources, a placeholder task definition per step. */
export function localExecutionInput(
  runId: string,
  plan: Pick<Plan, 'hash' | 'steps'>,
  options: { recover?: boolean; cluster?: string } = {},
): ExecutionInput {
  return {
    runId,
    planHash: plan.hash,
    recover: options.recover ?? false,
    env: {
      control: 'local',
      cluster: options.cluster ?? 'local',
      subnets: [],
      securityGroups: [],
      assignPublicIp: 'DISABLED',
      taskDefinitions: Object.fromEntries(plan.steps.map((step) => [`s${step.index}`, 'local'])),
    },
  };
}

function* allStates(states: Record<string, AslState>): Generator<[string, AslState]> {
  for (const [name, state] of Object.entries(states)) {
    yield [name, state];
    for (const branch of (state.Branches as AslDefinition[] | undefined) ?? [])
      yield* allStates(branch.States);
  }
}

/** Lambda's invoke integration: errors keep their name, which is what Catch and Retry match. */
function asStateError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new Error(String(error));
}

function handlerFor(state: AslState, deps: EngineDeps): TaskHandler {
  const timeoutSeconds = Number(state.TimeoutSeconds);
  switch (state.Resource) {
    case RESOURCES.control:
      return async (input) => {
        const payload = (input as { Payload: ControlPayload }).Payload;
        try {
          return { Payload: (await deps.control(payload)) ?? null, StatusCode: 200 };
        } catch (error) {
          throw asStateError(error);
        }
      };
    case RESOURCES.controlWait:
      return async (input) => {
        const payload = (input as { Payload: ControlPayload & { taskToken: string } }).Payload;
        const result = deps.tokens.wait(payload.taskToken);
        // Like Step Functions, the token dies with the state: a late SendTask* answers 'gone'.
        const timer = setTimeout(() => deps.tokens.expire(payload.taskToken), timeoutSeconds * 1000);
        try {
          await deps.control(payload);
          return await result;
        } catch (error) {
          deps.tokens.expire(payload.taskToken);
          throw asStateError(error);
        } finally {
          clearTimeout(timer);
        }
      };
    case RESOURCES.runTask:
      return async (input) => {
        return deps.tasks.run({ ...stepOfRunTask(input), timeoutSeconds });
      };
    default:
      throw new Error(`the embedded engine has no handler for Task resource ${String(state.Resource)}`);
  }
}

/** Starts an execution of `definition`; every Task state gets the local handler for its resource. */
export function startExecution(
  definition: AslDefinition,
  input: ExecutionInput,
  deps: EngineDeps,
): Execution {
  const handlers: Record<string, TaskHandler> = {};
  const retryIntervals: Record<string, number> = {};
  for (const [name, state] of allStates(definition.States)) {
    if (state.Type === 'Task') handlers[name] = handlerFor(state, deps);
    if (deps.retryIntervalMs !== undefined && state.Retry) retryIntervals[name] = deps.retryIntervalMs;
  }

  const id = `local:${input.runId}${input.recover ? ':recover' : ''}`;
  // The compiler's output is validated by its tests (asl-validator); validating again here would compile
  // the ASL schema for every execution and every Parallel branch, the engine's biggest CPU cost.
  const machine = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
  const context = {
    Execution: { Id: id, Name: input.runId },
    // Read afresh at every `$$.Task.Token`: each waiting state gets its own token.
    Task: {
      get Token() {
        return deps.tokens.issue();
      },
    },
  };
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: retryIntervals },
    context: context as never,
  });

  // The interpreter closes its event log when the execution ends, which ends this loop.
  const onEvent = deps.onEvent;
  const recorded = onEvent
    ? (async () => {
        for await (const event of execution.eventLogs) await onEvent(event as HistoryEvent);
      })().catch((error) =>
        // The run goes on; only its history (`finale show --history`) stops here.
        console.error(`finale: the history of ${id} stopped being recorded:`, error),
      )
    : Promise.resolve();

  const done = execution.result
    .then(
      (output) => ({ status: 'SUCCEEDED' as const, output }),
      (error: Error & { cause?: Error }) => {
        // ExecutionError wraps the state's error; its name is the Fail state's Error.
        const inner = error.cause instanceof Error ? error.cause : error;
        return { status: 'FAILED' as const, error: inner.name, cause: inner.message };
      },
    )
    .then(async (outcome) => {
      await recorded;
      return outcome;
    });
  return { id, done, abort: () => execution.abort() };
}
