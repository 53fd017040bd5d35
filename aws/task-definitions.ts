// The ECS task definition of a step (aws-facts.md, "The step task on Fargate"): three containers
// sharing two scratch volumes.
//   prepare  Finale's image, not essential: clones the commit, downloads artifacts, renders the
//            script files and the env file, copies supervisor.sh into /finale.
//   agent    Finale's image, the only essential container: it outlives the step, reports its end,
//            uploads artifacts and exits with the supervisor's exit code, which decides the task.
//   step     the user's image, not essential: /finale/start.sh runs supervisor.sh, its output going to
//            a file on the shared volume that the agent masks on its way to CloudWatch.
// RunTask cannot override an image, so there is one definition per distinct image, size, user and set
// of secured variables (stop settings travel in the env file prepare writes); its family is named by
// the hash of its content, which makes registration idempotent.

import { createHash } from 'node:crypto';
import {
  type ContainerDefinition,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import type { StepStoredVariables } from '../core/repository-variables';
import type { StepSpec } from '../statemachine/compiler/plan';
import { TASK_CONTAINERS } from '../statemachine/compiler/plan';
import type { TableName, TableNames } from '../store/tables';
import { LAMBDA_ENV } from './config';
import { parameterArn } from './vault';

/** Fargate's ceiling for a container's stopTimeout (seconds between SIGTERM and SIGKILL). */
export const MAX_STOP_TIMEOUT = 120;

/** Paths of the two task volumes, the same in every container. */
export const TASK_PATHS = { finale: '/finale', workspace: '/workspace' } as const;

/**
 * The agent container receives each secured variable of the step again under this prefix, to mask it.
 * Users cannot name a variable FINALE_… (checkVariableName), so these never meet a variable of theirs.
 */
export const MASK_ENV_PREFIX = 'FINALE_MASK_';

/** A step's secured variables, by reference: the SSM parameter names the vault answered. */
export type SecuredReferences = StepStoredVariables['secured'];

export interface TaskDefinitionSettings {
  readonly prefix: string;
  readonly partition: string;
  readonly region: string;
  /** For the ARNs of the variables' parameters. */
  readonly account: string;
  readonly agentImage: string;
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  readonly logGroup: string;
  /** Table names and secrets the prepare and agent containers read (the task role limits what they may do). */
  readonly tables: TableNames;
  readonly hostTokenSecretArn: string;
  readonly artifactsBucket: string;
  /** The key the agent seals (and prepare opens) secured output variables with. */
  readonly variablesKeyArn: string;
}

/**
 * The grace the supervisor applies on Fargate. ECS kills every container MAX_STOP_TIMEOUT seconds after
 * StopTask, so the supervisor's own KILL (and its status file) must come first; a longer grace cannot
 * be honoured there. The step container's stopTimeout is always the maximum: the supervisor enforces
 * the grace itself, and whatever time is left goes to the after-script.
 */
export function fargateGraceOf(spec: Pick<StepSpec, 'stop'>): number {
  const grace = spec.stop.graceful ? spec.stop.graceSeconds : 0;
  return Math.max(0, Math.min(grace, MAX_STOP_TIMEOUT - GRACE_MARGIN_SECONDS));
}

/** Time the supervisor needs between its KILL and ECS's: reaping, the status file, a short after-script. */
const GRACE_MARGIN_SECONDS = 10;

/** What makes two steps need different task definitions. */
function stepShape(spec: StepSpec) {
  return {
    image: spec.image.name,
    runAsUser: spec.image.runAsUser,
    cpu: spec.cpu,
    memory: spec.memory,
  };
}

function logConfiguration(settings: TaskDefinitionSettings): ContainerDefinition['logConfiguration'] {
  return {
    logDriver: 'awslogs',
    options: {
      'awslogs-group': settings.logGroup,
      'awslogs-region': settings.region,
      // Streams are finale/<container>/<task id>: the log reader finds a step's log by its task.
      'awslogs-stream-prefix': LOG_STREAM_PREFIX,
      // Non-blocking became the default in 2025 and may drop lines; a CI log must be complete.
      mode: 'blocking',
    },
  };
}

const LOG_STREAM_PREFIX = 'finale';

/** The log stream of one container of a task. */
export function logStreamOf(container: string, taskArn: string): string {
  return `${LOG_STREAM_PREFIX}/${container}/${taskArn.split('/').pop()}`;
}

/**
 * ECS `secrets`: the execution role reads each parameter when the task starts and sets it in the
 * container's environment. Only references are in the definition — never a value — and each refers
 * to a parameter of the run's own repository (see infra/permissions.ts on why IAM cannot say so).
 */
function secretsOf(
  secured: SecuredReferences,
  settings: TaskDefinitionSettings,
  prefix = '',
): ContainerDefinition['secrets'] {
  return [...secured]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(({ name, reference }) => ({
      name: `${prefix}${name}`,
      valueFrom: parameterArn(settings, reference),
    }));
}

/**
 * The RegisterTaskDefinition request of a step with its secured variables; the family name is the
 * hash of everything else, so a step with other secured variables gets a family of its own.
 */
export function taskDefinitionFor(
  spec: StepSpec,
  settings: TaskDefinitionSettings,
  secured: SecuredReferences = [],
): RegisterTaskDefinitionCommandInput {
  const shape = stepShape(spec);
  const withSecrets = (prefix?: string) =>
    secured.length > 0 ? { secrets: secretsOf(secured, settings, prefix) } : {};
  const mountPoints = [
    { sourceVolume: 'finale', containerPath: TASK_PATHS.finale, readOnly: false },
    { sourceVolume: 'workspace', containerPath: TASK_PATHS.workspace, readOnly: false },
  ];
  const finaleEnvironment = [
    { name: 'AWS_REGION', value: settings.region },
    ...(Object.keys(LAMBDA_ENV.tables) as TableName[]).map((table) => ({
      name: LAMBDA_ENV.tables[table],
      value: settings.tables[table],
    })),
    { name: LAMBDA_ENV.hostTokenSecretArn, value: settings.hostTokenSecretArn },
    { name: LAMBDA_ENV.artifactsBucket, value: settings.artifactsBucket },
    { name: LAMBDA_ENV.variablesKeyArn, value: settings.variablesKeyArn },
    { name: LAMBDA_ENV.resourcePrefix, value: settings.prefix },
  ];
  const logs = logConfiguration(settings);
  const containerDefinitions: ContainerDefinition[] = [
    {
      name: TASK_CONTAINERS.prepare,
      image: settings.agentImage,
      essential: false,
      command: ['prepare'],
      environment: finaleEnvironment,
      mountPoints,
      logConfiguration: logs,
    },
    {
      name: TASK_CONTAINERS.agent,
      image: settings.agentImage,
      essential: true,
      command: ['agent'],
      environment: finaleEnvironment,
      ...withSecrets(MASK_ENV_PREFIX),
      mountPoints,
      // The agent must outlive the step's stop: it reports the end and uploads artifacts.
      stopTimeout: MAX_STOP_TIMEOUT,
      logConfiguration: logs,
    },
    {
      name: TASK_CONTAINERS.step,
      image: shape.image,
      essential: false,
      entryPoint: ['/bin/sh'],
      command: [`${TASK_PATHS.finale}/start.sh`],
      // Not on the agent: ECS stops containers in reverse dependency order, and the agent must get
      // its SIGTERM while the step still runs (to turn it into an immediate stop when asked).
      dependsOn: [{ containerName: TASK_CONTAINERS.prepare, condition: 'SUCCESS' }],
      ...withSecrets(),
      mountPoints,
      stopTimeout: MAX_STOP_TIMEOUT,
      ...(shape.runAsUser !== undefined ? { user: String(shape.runAsUser) } : {}),
      // start.sh sends the step's output to the agent through a file, so nothing of the script
      // reaches this stream; it is kept for what fails before start.sh runs (an image without sh).
      logConfiguration: logs,
    },
  ];
  const body = {
    requiresCompatibilities: ['FARGATE' as const],
    networkMode: 'awsvpc' as const,
    cpu: String(shape.cpu),
    memory: String(shape.memory),
    // No pidMode: each container has a PID namespace of its own. The supervisor is PID 1 of the step
    // container, so it sees (and stops, and outlives) every process of the step and nothing else,
    // and the step sees none of Finale's processes. The agent reaches it through the cancel file.
    taskRoleArn: settings.taskRoleArn,
    executionRoleArn: settings.executionRoleArn,
    volumes: [{ name: 'finale' }, { name: 'workspace' }],
    containerDefinitions,
  };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 20);
  return { family: `${settings.prefix}-step-${hash}`, ...body };
}

/**
 * Registers the definitions a plan needs (once per family), keyed `s<index>` as the execution input
 * wants; `securedOf` answers each step's secured variables.
 */
export function createTaskDefinitions(client: ECSClient, settings: TaskDefinitionSettings) {
  // A family never changes content: once known, its ARN is good for the life of the container.
  const known = new Map<string, Promise<string>>();

  const ensure = (input: RegisterTaskDefinitionCommandInput): Promise<string> => {
    const family = input.family!;
    let arn = known.get(family);
    if (!arn) {
      arn = (async () => {
        try {
          const found = await client.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }));
          if (found.taskDefinition?.taskDefinitionArn && found.taskDefinition.status === 'ACTIVE')
            return found.taskDefinition.taskDefinitionArn;
        } catch (error) {
          // ECS answers a family it has never seen with ClientException.
          if (!(error instanceof Error && error.name === 'ClientException')) throw error;
        }
        const registered = await client.send(new RegisterTaskDefinitionCommand(input));
        const registeredArn = registered.taskDefinition?.taskDefinitionArn;
        if (!registeredArn) throw new Error(`ECS registered ${family} but returned no ARN`);
        return registeredArn;
      })();
      arn.catch(() => known.delete(family));
      known.set(family, arn);
    }
    return arn;
  };

  return {
    async forPlan(
      steps: readonly StepSpec[],
      securedOf: (spec: StepSpec) => Promise<SecuredReferences>,
    ): Promise<Record<string, string>> {
      const entries = await Promise.all(
        steps
          .filter((spec) => !spec.skipped)
          .map(
            async (spec) =>
              [
                `s${spec.index}`,
                await ensure(taskDefinitionFor(spec, settings, await securedOf(spec))),
              ] as const,
          ),
      );
      return Object.fromEntries(entries);
    },
  };
}
