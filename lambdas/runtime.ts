// What every Finale Lambda shares: its configuration, the store, the core bound to AWS ports, the
// repository host from its secret, and the Powertools logger. Everything is built on first use and
// kept for the life of the Lambda container; SDK clients are imported one service at a time.

import { Logger } from '@aws-lambda-powertools/logger';
import { ECSClient } from '@aws-sdk/client-ecs';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { parseArn } from '../aws/arn';
import { type LambdaConfig, readConfig } from '../aws/config';
import { awsExecutor } from '../aws/executor';
import { sfnOrchestrator } from '../aws/orchestrator';
import { type SecretReader, secretReader } from '../aws/secrets';
import { createStateMachines } from '../aws/state-machines';
import { ecsTaskControl } from '../aws/task-control';
import { createTaskDefinitions } from '../aws/task-definitions';
import { ssmVault } from '../aws/vault';
import { type Core, createCore, createPlanSource } from '../core/index';
import { storedVariablesOfRun } from '../core/repository-variables';
import type { Executor } from '../core/start';
import { createHost, parseHostConfig, type RepositoryHost } from '../repository-hosts/index';
import type { PipelineCompiler } from '../statemachine/pipelines';
import { createDocumentClient } from '../store/client';
import { createStore, type Store, systemClock } from '../store/store';

export const logger = new Logger({ serviceName: 'finale' });

/** A value made on first use, then kept (a failed attempt is retried on the next call). */
export function once<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => {
    if (!made) {
      const value = make();
      if (value instanceof Promise) value.catch(() => (made = undefined));
      made = { value };
    }
    return made.value;
  };
}

export function awsStore(config: Pick<LambdaConfig, 'tables'>): Store {
  return createStore({ client: createDocumentClient(), tables: config.tables, clock: systemClock });
}

interface AwsClients {
  readonly sfn: SFNClient;
  readonly ecs: ECSClient;
  /** The vault's: SSM parameters of secured variables, KMS for secured output variables. */
  readonly ssm: SSMClient;
  readonly kms: KMSClient;
}

export function awsClients(): AwsClients {
  return { sfn: new SFNClient({}), ecs: new ECSClient({}), ssm: new SSMClient({}), kms: new KMSClient({}) };
}

/** What awsCore reads from the configuration. */
export type CoreConfig = Pick<LambdaConfig, 'cluster' | 'variablesKeyArn' | 'resourcePrefix'>;

/** The variables every function reads for its store and core. */
export const CORE_CONFIG = ['tables', 'cluster', 'variablesKeyArn', 'resourcePrefix'] as const;

/**
 * The core with Step Functions' task tokens, ECS and the SSM vault. `stepLogs`: where step tasks log,
 * for the functions that tell a running step something (a forced unlock), which only the API does.
 * Every function gets the vault; only the API's role may write parameters, and none may read them.
 */
export function awsCore(
  store: Store,
  clients: AwsClients,
  config: CoreConfig,
  options: {
    /** Where step tasks log, for the functions that tell a running step something (a forced unlock). */
    readonly stepLogs?: Parameters<typeof ecsTaskControl>[0]['logs'];
    /** Only the functions that start runs (webhook, API) load the language and the compiler. */
    readonly pipelines?: PipelineCompiler;
  } = {},
): Core {
  const { stepLogs } = options;
  return createCore({
    store,
    orchestrator: sfnOrchestrator(clients.sfn),
    tasks: ecsTaskControl({
      client: clients.ecs,
      cluster: config.cluster,
      ...(stepLogs ? { logs: stepLogs } : {}),
    }),
    clock: systemClock,
    plans: createPlanSource(store),
    vault: ssmVault({
      ssm: clients.ssm,
      kms: clients.kms,
      keyArn: config.variablesKeyArn,
      prefix: config.resourcePrefix,
    }),
    ...(options.pipelines ? { pipelines: options.pipelines } : {}),
  });
}

export type ExecutorConfig = Pick<
  LambdaConfig,
  | 'tables'
  | 'cluster'
  | 'subnets'
  | 'securityGroups'
  | 'assignPublicIp'
  | 'stateMachineRoleArn'
  | 'taskRoleArn'
  | 'executionRoleArn'
  | 'logGroup'
  | 'controlFunctionArn'
  | 'hostTokenSecretArn'
  | 'artifactsBucket'
  | 'agentImage'
  | 'resourcePrefix'
  | 'variablesKeyArn'
>;

export const EXECUTOR_CONFIG: readonly (keyof ExecutorConfig)[] = [
  'tables',
  'cluster',
  'subnets',
  'securityGroups',
  'assignPublicIp',
  'stateMachineRoleArn',
  'taskRoleArn',
  'executionRoleArn',
  'logGroup',
  'controlFunctionArn',
  'hostTokenSecretArn',
  'artifactsBucket',
  'agentImage',
  'resourcePrefix',
  'variablesKeyArn',
];

/**
 * Step Functions + ECS: what starts a run's execution. Region and account (of the state machines, and
 * of the variables' parameters the task definitions name) come from the control Lambda's ARN.
 */
export function awsExecutorFrom(
  config: ExecutorConfig,
  clients: Pick<AwsClients, 'sfn' | 'ecs'>,
  store: Store,
): Executor {
  const { region, account, partition } = parseArn(config.controlFunctionArn);
  return awsExecutor({
    sfn: clients.sfn,
    store,
    storedVariables: (run) => storedVariablesOfRun(run, { store }),
    environment: {
      controlFunctionArn: config.controlFunctionArn,
      cluster: config.cluster,
      subnets: config.subnets,
      securityGroups: config.securityGroups,
      assignPublicIp: config.assignPublicIp,
    },
    taskDefinitions: createTaskDefinitions(clients.ecs, {
      prefix: config.resourcePrefix,
      partition,
      region,
      account,
      agentImage: config.agentImage,
      taskRoleArn: config.taskRoleArn,
      executionRoleArn: config.executionRoleArn,
      logGroup: config.logGroup,
      tables: config.tables,
      hostTokenSecretArn: config.hostTokenSecretArn,
      artifactsBucket: config.artifactsBucket,
      variablesKeyArn: config.variablesKeyArn,
    }),
    stateMachines: createStateMachines(clients.sfn, {
      prefix: config.resourcePrefix,
      region,
      account,
      partition,
      roleArn: config.stateMachineRoleArn,
    }),
  });
}

export function awsSecrets(): SecretReader {
  return secretReader(new SecretsManagerClient({}));
}

/** The repository host from its secret, rebuilt when the secret's value changes (rotation). */
export function hostFromSecret(secrets: SecretReader, secretArn: string): () => Promise<RepositoryHost> {
  let current: { text: string; host: RepositoryHost } | undefined;
  return async () => {
    const text = await secrets.get(secretArn);
    if (current?.text !== text) current = { text, host: createHost(parseHostConfig(text)) };
    return current.host;
  };
}

export { readConfig };
