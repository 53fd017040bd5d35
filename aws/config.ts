// The configuration every Finale Lambda and step task reads from its environment. infra/ sets
// exactly these variables; this file is the contract between the two.

import type { TableNames } from '../store/tables';

export const LAMBDA_ENV = {
  /** Table names, one variable per table in store/tables.ts. */
  tables: {
    runs: 'FINALE_TABLE_RUNS',
    locks: 'FINALE_TABLE_LOCKS',
    repositories: 'FINALE_TABLE_REPOSITORIES',
    plans: 'FINALE_TABLE_PLANS',
    deliveries: 'FINALE_TABLE_DELIVERIES',
  },
  /** ARN of the ECS cluster the step tasks run in. */
  cluster: 'FINALE_CLUSTER_ARN',
  /** Comma-separated subnet ids and security group ids for the tasks' awsvpc network. */
  subnets: 'FINALE_SUBNETS',
  securityGroups: 'FINALE_SECURITY_GROUPS',
  /** ENABLED when the tasks run in public subnets without NAT. */
  assignPublicIp: 'FINALE_ASSIGN_PUBLIC_IP',
  /** Role the pipeline state machines run as (passed to CreateStateMachine). */
  stateMachineRoleArn: 'FINALE_STATE_MACHINE_ROLE_ARN',
  /** Roles of the step tasks (passed to RegisterTaskDefinition). */
  taskRoleArn: 'FINALE_TASK_ROLE_ARN',
  executionRoleArn: 'FINALE_EXECUTION_ROLE_ARN',
  /** CloudWatch log group of the step tasks (awslogs, mode blocking). */
  logGroup: 'FINALE_LOG_GROUP',
  /** The control Lambda's ARN: the state machines invoke it (ExecutionInput.env.control). */
  controlFunctionArn: 'FINALE_CONTROL_FUNCTION_ARN',
  /** Secrets Manager ARNs: the webhook HMAC secret, and the repository host's API token. */
  webhookSecretArn: 'FINALE_WEBHOOK_SECRET_ARN',
  hostTokenSecretArn: 'FINALE_HOST_TOKEN_SECRET_ARN',
  /** S3 bucket for step artifacts. */
  artifactsBucket: 'FINALE_ARTIFACTS_BUCKET',
  /** Image of Finale's own prepare/agent containers. */
  agentImage: 'FINALE_AGENT_IMAGE',
  /**
   * Names of everything Finale creates at run time start with this (state machines, task families,
   * the SSM parameters of secured variables).
   */
  resourcePrefix: 'FINALE_RESOURCE_PREFIX',
  /** KMS key of secured variables (their SSM parameters) and of secured output variables (aws/vault.ts). */
  variablesKeyArn: 'FINALE_VARIABLES_KEY_ARN',
} as const;

export interface LambdaConfig {
  readonly tables: TableNames;
  readonly cluster: string;
  readonly subnets: readonly string[];
  readonly securityGroups: readonly string[];
  readonly assignPublicIp: 'ENABLED' | 'DISABLED';
  readonly stateMachineRoleArn: string;
  readonly taskRoleArn: string;
  readonly executionRoleArn: string;
  readonly logGroup: string;
  readonly controlFunctionArn: string;
  readonly webhookSecretArn: string;
  readonly hostTokenSecretArn: string;
  readonly artifactsBucket: string;
  readonly agentImage: string;
  readonly resourcePrefix: string;
  readonly variablesKeyArn: string;
}

/** Reads only the variables a handler needs; a missing one is a deployment error, named. */
export function readConfig<K extends keyof LambdaConfig>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Pick<LambdaConfig, K> {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`Finale Lambda misconfigured: environment variable ${name} is not set`);
    return value;
  };
  const list = (name: string) =>
    need(name)
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  const config: Partial<Record<keyof LambdaConfig, unknown>> = {};
  for (const key of keys) {
    if (key === 'tables') {
      config.tables = Object.fromEntries(
        Object.entries(LAMBDA_ENV.tables).map(([table, name]) => [table, need(name)]),
      ) as unknown as TableNames;
    } else if (key === 'subnets' || key === 'securityGroups') {
      config[key] = list(LAMBDA_ENV[key as 'subnets' | 'securityGroups']);
    } else if (key === 'assignPublicIp') {
      config.assignPublicIp = env[LAMBDA_ENV.assignPublicIp] === 'ENABLED' ? 'ENABLED' : 'DISABLED';
    } else {
      config[key] = need(LAMBDA_ENV[key] as string);
    }
  }
  return config as Pick<LambdaConfig, K>;
}
