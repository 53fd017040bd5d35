// The core's Executor on AWS: the task definitions the plan needs, the state machine version of its
// definition, and one execution named after the run id (StartExecution is idempotent per name and
// input, so a retried start does not run the pipeline twice).
//
// Which secured variables each step receives is decided here, when the run starts: they are part of
// its task definition (by reference), never of the execution input or a RunTask override. ECS reads
// their values when each task starts, so a value set meanwhile is the one a step gets; plain ones are
// read by the step's prepare container.

import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { StepStoredVariables } from '../core/repository-variables';
import type { Executor } from '../core/start';
import type { ExecutionInput, Plan, StepSpec } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';
import type { Store } from '../store/store';

interface ExecutionEnvironment {
  readonly controlFunctionArn: string;
  readonly cluster: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: 'ENABLED' | 'DISABLED';
}

/** The engine record of runs Step Functions executes: no lease, Step Functions keeps them alive. */
const AWS_ENGINE = 'aws';

function executionInput(
  run: Pick<RunRecord, 'runId'>,
  plan: Pick<Plan, 'hash'>,
  environment: ExecutionEnvironment,
  taskDefinitions: Readonly<Record<string, string>>,
  recover = false,
): ExecutionInput {
  return {
    runId: run.runId,
    planHash: plan.hash,
    recover,
    env: {
      control: environment.controlFunctionArn,
      cluster: environment.cluster,
      subnets: [...environment.subnets],
      securityGroups: [...environment.securityGroups],
      assignPublicIp: environment.assignPublicIp,
      taskDefinitions,
    },
  };
}

interface AwsExecutorDeps {
  readonly sfn: SFNClient;
  readonly store: Pick<Store, 'runs'>;
  readonly environment: ExecutionEnvironment;
  readonly taskDefinitions: {
    forPlan(
      steps: Plan['steps'],
      securedOf: (spec: StepSpec) => Promise<StepStoredVariables['secured']>,
    ): Promise<Record<string, string>>;
  };
  /** The run's stored variables, read once: what each of its steps receives (core's storedVariablesOfRun). */
  readonly storedVariables: (run: RunRecord) => Promise<(spec: StepSpec) => StepStoredVariables>;
  readonly stateMachines: {
    version(repository: string, pipeline: string, definition: Plan['definition']): Promise<string>;
  };
}

export function awsExecutor(deps: AwsExecutorDeps): Executor {
  return {
    async start(run, plan) {
      const [taskDefinitions, version] = await Promise.all([
        deps
          .storedVariables(run)
          .then((of) => deps.taskDefinitions.forPlan(plan.steps, async (spec) => of(spec).secured)),
        deps.stateMachines.version(run.repository, plan.pipeline, plan.definition),
      ]);
      const input = executionInput(run, plan, deps.environment, taskDefinitions);
      let executionArn: string | undefined;
      try {
        const started = await deps.sfn.send(
          new StartExecutionCommand({
            stateMachineArn: version,
            name: run.runId,
            input: JSON.stringify(input),
          }),
        );
        executionArn = started.executionArn;
      } catch (error) {
        if (!(error instanceof ExecutionAlreadyExists)) throw error;
      }
      // The console link of the commit status and the recovery of an aborted execution need it.
      if (executionArn) {
        await deps.store.runs.setEngine(run.runId, {
          instance: AWS_ENGINE,
          leaseUntil: Number.MAX_SAFE_INTEGER,
          execution: executionArn,
        });
      }
    },
  };
}
