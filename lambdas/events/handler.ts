// The events Lambda (EventBridge rules on ECS and Step Functions). Both sources deliver at least once
// and out of order, so every branch is idempotent.
//
// ECS Task State Change: a step task is matched by its group (`finale:<runId>`) and the agent's
// FINALE_STEP_INDEX override. First sight of a task records it (taskStarted), which also stops it at
// once when its run is being stopped: a stop that came before the task was known still wins. STOPPED
// records the stop code (and the agent's exit code when the agent could not report the step's own).
//
// Step Functions Execution Status Change: when an execution ends with its run finished, the commit
// status and the run metrics go out (a rare duplicate delivery reports the same status again, and
// counts the run twice in the metrics). When it ends without finishing the run (aborted or timed out in
// the console, or failed inside Step Functions), the run is marked aborted and a recovery execution
// of the same state machine version starts with `recover: true`: the definition's Start choice sends
// it straight to the final step and Finish run, which releases the locks. The final step always runs.

import type { Metrics } from '@aws-lambda-powertools/metrics';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  type SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { parseArn } from '../../aws/arn';
import { createMetrics, publishRunMetrics } from '../../aws/metrics';
import type { Core } from '../../core/index';
import type { CommitState, RepositoryHost } from '../../repository-hosts/host';
import { TASK_CONTAINERS, TASK_ENV } from '../../statemachine/compiler/plan';
import type { RunRecord } from '../../store/records';
import { RUN_REASONS, type RunStatus } from '../../vocabulary/contract';
import {
  awsClients,
  awsCore,
  awsSecrets,
  awsStore,
  CORE_CONFIG,
  hostFromSecret,
  logger,
  once,
  readConfig,
} from '../runtime';
import { reportStatus } from '../status';

const RECOVERY_SUFFIX = '-recovery';
/** ECS and Lambda clocks agree to well under this; an older task belongs to an earlier attempt. */
const CLOCK_SLACK_MS = 1000;

interface EcsTaskDetail {
  readonly taskArn: string;
  readonly group?: string;
  readonly lastStatus?: string;
  readonly stopCode?: string;
  readonly createdAt?: string;
  readonly containers?: readonly { readonly name?: string; readonly exitCode?: number }[];
  readonly overrides?: {
    readonly containerOverrides?: readonly {
      readonly name?: string;
      readonly environment?: readonly { readonly name?: string; readonly value?: string }[];
    }[];
  };
}

interface ExecutionDetail {
  readonly executionArn: string;
  readonly stateMachineArn?: string;
  readonly name: string;
  readonly status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'PENDING_REDRIVE';
}

export type FinaleEvent =
  | { readonly id?: string; readonly 'detail-type': 'ECS Task State Change'; readonly detail: EcsTaskDetail }
  | {
      readonly id?: string;
      readonly 'detail-type': 'Step Functions Execution Status Change';
      readonly detail: ExecutionDetail;
    };

interface EventsDeps {
  readonly core: Core;
  readonly sfn: SFNClient;
  readonly host: () => Promise<RepositoryHost>;
  readonly metrics: Metrics;
  /** State machines Finale created start with `<prefix>-`; executions of others are not ours. */
  readonly prefix: string;
}

/** What the handler did, for its log line and the tests. */
type EventOutcome =
  | { readonly action: 'ignored'; readonly why: string }
  | {
      readonly action: 'task';
      readonly runId: string;
      readonly step: number;
      readonly started: boolean;
      readonly stopped: boolean;
      readonly ended: boolean;
    }
  | { readonly action: 'reported'; readonly runId: string; readonly status: RunStatus }
  | { readonly action: 'recovering'; readonly runId: string; readonly execution: string }
  | { readonly action: 'finished'; readonly runId: string; readonly status: RunStatus };

export function createEventsHandler(getDeps: () => EventsDeps) {
  return async function events(event: FinaleEvent): Promise<EventOutcome> {
    const deps = getDeps();
    const outcome =
      event['detail-type'] === 'ECS Task State Change'
        ? await taskChanged(event.detail, deps)
        : event['detail-type'] === 'Step Functions Execution Status Change'
          ? await executionChanged(event.detail, deps)
          : ({
              action: 'ignored',
              why: `event ${(event as { 'detail-type'?: string })['detail-type']}`,
            } as const);
    logger.info('event handled', { outcome });
    return outcome;
  };
}

// ---------------------------------------------------------------------------------------------------
// ECS

function stepOf(detail: EcsTaskDetail): number | undefined {
  const agent = detail.overrides?.containerOverrides?.find((c) => c.name === TASK_CONTAINERS.agent);
  const value = agent?.environment?.find((variable) => variable.name === TASK_ENV.step)?.value;
  const step = Number(value);
  return value !== undefined && Number.isInteger(step) && step >= 0 ? step : undefined;
}

async function taskChanged(detail: EcsTaskDetail, deps: EventsDeps): Promise<EventOutcome> {
  const runId = detail.group?.startsWith('finale:') ? detail.group.slice('finale:'.length) : undefined;
  const step = stepOf(detail);
  if (!runId || step === undefined)
    return { action: 'ignored', why: `task ${detail.taskArn} is not a Finale step` };
  const { core } = deps;
  const run = await core.getRun(runId);
  const record = run?.steps[String(step)];
  if (!run || !record) return { action: 'ignored', why: `no step ${step} in run ${runId}` };
  const created = detail.createdAt ? Date.parse(detail.createdAt) : Number.NaN;
  if (record.startedAt !== undefined && created + CLOCK_SLACK_MS < record.startedAt) {
    return { action: 'ignored', why: `task ${detail.taskArn} belongs to an earlier attempt of step ${step}` };
  }
  let started = false;
  let stopped = false;
  if (record.taskId !== detail.taskArn) {
    started = true;
    stopped = (await core.taskStarted(runId, step, detail.taskArn)).stopped;
  }
  const ended = detail.lastStatus === 'STOPPED';
  if (ended) {
    // The agent reports the script's own exit code; the agent container's is only a fallback.
    const agent = detail.containers?.find((container) => container.name === TASK_CONTAINERS.agent);
    const fallback = record.exitCode === undefined ? agent?.exitCode : undefined;
    await core.taskEnded(runId, step, {
      ...(detail.stopCode ? { stopCode: detail.stopCode } : {}),
      ...(fallback !== undefined ? { exitCode: fallback } : {}),
    });
  }
  return { action: 'task', runId, step, started, stopped, ended };
}

// ---------------------------------------------------------------------------------------------------
// Step Functions

const COMMIT_STATE: Record<string, CommitState> = {
  SUCCESSFUL: 'SUCCESSFUL',
  FAILED: 'FAILED',
  STOPPED: 'STOPPED',
  ERROR: 'FAILED',
};

async function executionChanged(detail: ExecutionDetail, deps: EventsDeps): Promise<EventOutcome> {
  const machine = detail.stateMachineArn
    ? parseArn(detail.stateMachineArn).resource.split(':')[1]
    : undefined;
  if (!machine?.startsWith(`${deps.prefix}-`)) {
    return { action: 'ignored', why: `execution ${detail.executionArn} is not of a Finale state machine` };
  }
  if (detail.status === 'RUNNING' || detail.status === 'PENDING_REDRIVE') {
    return { action: 'ignored', why: `execution ${detail.name} is ${detail.status}` };
  }
  const recovery = detail.name.endsWith(RECOVERY_SUFFIX);
  const runId = recovery ? detail.name.slice(0, -RECOVERY_SUFFIX.length) : detail.name;
  const { core } = deps;
  let run = await core.getRun(runId);
  if (!run) return { action: 'ignored', why: `no run ${runId}` };

  if (run.phase !== 'done') {
    if (!recovery) {
      const aborted = await core.markAborted(runId, `execution ${detail.name} ended ${detail.status}`);
      if (aborted) return recover(aborted, detail, deps);
      run = (await core.getRun(runId)) ?? run;
    } else {
      // The recovery itself ended without finishing the run: finish it here, so its locks are released.
      logger.error('recovery execution ended without finishing the run', { runId, status: detail.status });
      await core.control({ action: 'finishRun', runId });
      run = (await core.getRun(runId)) ?? run;
    }
    if (run.phase !== 'done') return { action: 'finished', runId, status: run.status };
  }
  await finished(run, deps, parseArn(detail.executionArn).region);
  return { action: 'reported', runId, status: run.status };
}

async function recover(run: RunRecord, detail: ExecutionDetail, deps: EventsDeps): Promise<EventOutcome> {
  const described = await deps.sfn.send(new DescribeExecutionCommand({ executionArn: detail.executionArn }));
  const input = JSON.parse(described.input ?? '{}') as Record<string, unknown>;
  const stateMachineArn =
    described.stateMachineVersionArn ?? described.stateMachineArn ?? detail.stateMachineArn!;
  const name = `${run.runId}${RECOVERY_SUFFIX}`;
  let execution = `${stateMachineArn}:${name}`;
  try {
    const started = await deps.sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        name,
        input: JSON.stringify({ ...input, recover: true }),
      }),
    );
    execution = started.executionArn ?? execution;
  } catch (error) {
    if (!(error instanceof ExecutionAlreadyExists)) throw error;
  }
  logger.warn('execution ended outside Finale: recovering the run', {
    runId: run.runId,
    status: detail.status,
  });
  return { action: 'recovering', runId: run.runId, execution };
}

/** The run has ended: its commit status and its metrics. */
async function finished(run: RunRecord, deps: EventsDeps, region: string): Promise<void> {
  const plan = await deps.core.getPlan(run.planHash);
  const deploys = plan.steps.some((step) => step.deployment !== undefined && !step.skipped);
  publishRunMetrics(deps.metrics, run, deploys);
  const host = await deps.host();
  const reason = run.reason ? `: ${RUN_REASONS[run.reason]}` : '';
  await reportStatus(
    {
      host,
      region,
      warn: (message, error) => logger.warn(message, { error }),
    },
    { repository: run.repository, commit: run.trigger.commit, pipeline: run.pipeline, run },
    COMMIT_STATE[run.status] ?? 'FAILED',
    `#${run.buildNumber} ${run.status.toLowerCase()}${reason}`,
  );
}

export const handler = createEventsHandler(
  once(() => {
    const config = readConfig([...CORE_CONFIG, 'hostTokenSecretArn']);
    const clients = awsClients();
    return {
      core: awsCore(awsStore(config), clients, config),
      sfn: clients.sfn,
      host: hostFromSecret(awsSecrets(), config.hostTokenSecretArn),
      metrics: createMetrics(),
      prefix: config.resourcePrefix,
    };
  }),
);
