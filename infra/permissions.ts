// Every IAM permission Finale grants, in one place: the action lists, the ARNs they are scoped to, and
// the grant helpers the construct composes per principal. Nothing here uses a `*` action.

import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import { Construct } from 'constructs';
import { OUTPUT_CONTEXT, variablesPath } from '../aws/vault';
import { TABLES, type TableName, type TableSpec } from '../store/tables';

export const ACTIONS = {
  /** What store/ sends to the core tables: single-item reads and conditional writes, queries, scans. */
  storeReadWrite: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'dynamodb:Query',
    'dynamodb:Scan',
  ],
  /** Plans are written once, when a run starts, and read by hash afterwards. */
  plansWrite: ['dynamodb:GetItem', 'dynamodb:PutItem'],
  plansRead: ['dynamodb:GetItem'],
  /** A delivery id is recorded with one conditional put (dedupe), and forgotten if its handling fails. */
  deliveries: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
  /** The step task reads its spec and its run, and records how the step ended. */
  storeTaskRuns: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
  /** prepare lists the repository's variables for the plain ones (store/variables.ts `list`). */
  storeTaskVariables: ['dynamodb:Query'],
  /** The API sets and unsets secured variables (aws/vault.ts); nothing in Finale reads one back. */
  writeVariables: ['ssm:PutParameter', 'ssm:DeleteParameter'],
  /** SSM encrypts a standard-tier SecureString with Encrypt, for the caller of PutParameter. */
  encryptVariables: ['kms:Encrypt'],
  /** ECS reads the step's secured variables into its task, as the execution role. */
  readVariables: ['ssm:GetParameters'],
  decryptVariables: ['kms:Decrypt'],
  /** The step task seals secured output variables (envelope: a data key each) and opens them. */
  sealOutputs: ['kms:GenerateDataKey', 'kms:Decrypt'],
  /** Resuming a run waiting on an approval or a lock, or failing it when the run is stopped. */
  taskResponse: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
  /** Stopping a step's task, and learning what became of a final step's task (core/control.ts). */
  stopTask: ['ecs:StopTask', 'ecs:DescribeTasks'],
  /** A run starts: its task definitions, its state machine version, its execution. */
  registerTaskDefinition: ['ecs:RegisterTaskDefinition', 'ecs:DescribeTaskDefinition'],
  publishStateMachine: [
    'states:CreateStateMachine',
    'states:UpdateStateMachine',
    'states:PublishStateMachineVersion',
    'states:DescribeStateMachine',
  ],
  startExecution: ['states:StartExecution'],
  /** The recovery of an aborted run reads the ended execution's input and version. */
  describeExecution: ['states:DescribeExecution'],
  passRole: ['iam:PassRole'],
  /** `arn:aws:states:::ecs:runTask.sync` as the state machine role. */
  runTask: ['ecs:RunTask'],
  watchTask: ['ecs:StopTask', 'ecs:DescribeTasks'],
  syncRule: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
  invokeControl: ['lambda:InvokeFunction'],
  readSecret: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
  writeLogs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  /** The API's step log route reads the awslogs streams of the step tasks. */
  readLogs: ['logs:GetLogEvents', 'logs:FilterLogEvents', 'logs:DescribeLogStreams'],
  artifactsObjects: ['s3:GetObject', 's3:PutObject'],
  artifactsList: ['s3:ListBucket'],
  /** GetAuthorizationToken has no resource-level permissions. */
  ecrToken: ['ecr:GetAuthorizationToken'],
  ecrPull: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
} as const satisfies Record<string, readonly string[]>;

/** The rule Step Functions manages in the account to learn when a `.sync` ECS task stops. */
const SYNC_RULE_NAME = 'StepFunctionsGetEventsForECSTaskRule';

/**
 * Names of what Finale creates at run time (state machines, task definition families) start with
 * `<resourcePrefix>-`; every run-time permission is scoped to that.
 */
const runtimeNamePrefix = (resourcePrefix: string): string => `${resourcePrefix}-`;
const runtimeNamePattern = (resourcePrefix: string): string => `${runtimeNamePrefix(resourcePrefix)}*`;

export const arns = {
  /** The ARN prefix every Finale state machine (and version) ARN starts with, for event patterns. */
  stateMachinePrefix: (scope: Construct, resourcePrefix: string): string =>
    Stack.of(scope).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: runtimeNamePrefix(resourcePrefix),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  /** State machines and their versions (`name:N`): the trailing `*` spans both. */
  stateMachines: (scope: Construct, resourcePrefix: string): string =>
    Stack.of(scope).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: runtimeNamePattern(resourcePrefix),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  executions: (scope: Construct, resourcePrefix: string): string =>
    Stack.of(scope).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: runtimeNamePattern(resourcePrefix),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    }),
  taskDefinitions: (scope: Construct, resourcePrefix: string): string =>
    Stack.of(scope).formatArn({
      service: 'ecs',
      resource: 'task-definition',
      resourceName: `${runtimeNamePattern(resourcePrefix)}:*`,
    }),
  clusterTasks: (cluster: ecs.ICluster): string =>
    Stack.of(cluster).formatArn({
      service: 'ecs',
      resource: 'task',
      resourceName: `${cluster.clusterName}/*`,
    }),
  syncRule: (scope: Construct): string =>
    Stack.of(scope).formatArn({ service: 'events', resource: 'rule', resourceName: SYNC_RULE_NAME }),
  /** Every secured variable's parameter: `parameter/<resourcePrefix>/variables/…`. */
  variables: (scope: Construct, resourcePrefix: string): string =>
    Stack.of(scope).formatArn({
      service: 'ssm',
      resource: 'parameter',
      resourceName: `${variablesPath(resourcePrefix).slice(1)}*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    }),
};

/**
 * Why each wildcard resource is as narrow as IAM allows. cdk-nag (AwsSolutions-IAM5) reports every
 * resource with a `*`; each grant below acknowledges its own, on the role it adds it to.
 */
const WILDCARD_REASONS = {
  noResourceLevel:
    'ecr:GetAuthorizationToken, ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition support no ' +
    'resource-level permissions: IAM accepts only "*" for them (and only they are granted on "*").',
  stateMachines:
    "Finale's state machines are created at run time, one per repository and pipeline, so their ARNs are " +
    'unknown at deploy time; the pattern is bounded to the resourcePrefix and also covers their published versions.',
  executions:
    "Executions are named after run ids at run time; the pattern covers only executions of Finale's " +
    'state machines (<resourcePrefix>-…).',
  taskDefinitions:
    'Task definitions are registered at run time, one family per step image, size and stop settings; the ' +
    'pattern is bounded to families named with the resourcePrefix (any revision), and RunTask is further ' +
    "conditioned on Finale's cluster.",
  clusterTasks:
    "Step tasks are started at run time by the state machines; the pattern covers only tasks in Finale's own cluster.",
  indexes:
    "Queries by repository use the table's global secondary index; the pattern covers only that table's indexes.",
  artifacts:
    "Artifacts are objects of any run in Finale's own bucket, keyed per run at run time; no other bucket is reachable.",
  variables:
    'Secured variables are SSM parameters created at run time, one per repository, scope and name; the ' +
    "pattern covers only the deployment's own path, /<resourcePrefix>/variables/.",
} as const;

/** iam.Grant.addToPrincipal, acknowledging each wildcard resource it adds with the reason it is bounded. */
function grant(
  grantee: iam.IGrantable,
  actions: readonly string[],
  resourceArns: readonly string[],
  options: { readonly conditions?: Record<string, Record<string, unknown>>; readonly reason?: string } = {},
): void {
  iam.Grant.addToPrincipal({
    grantee,
    actions: [...actions],
    resourceArns: [...resourceArns],
    conditions: options.conditions,
  });
  const principal = grantee.grantPrincipal;
  // Only a principal defined in this app goes through cdk-nag.
  if (!(principal instanceof Construct)) return;
  for (const resource of resourceArns) {
    const finding = flattenCfnReference(Stack.of(principal).resolve(resource));
    if (!finding.includes('*')) continue;
    if (!options.reason) throw new Error(`Finale: the wildcard resource ${finding} needs a reason`);
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${finding}]`,
      reason: options.reason,
    });
  }
}

type Access = readonly string[];

/** Grants `actions` on each table (and its indexes, where it has any). */
export function grantTables(
  grantee: iam.IGrantable,
  tables: Readonly<Partial<Record<TableName, dynamodb.Table>>>,
  access: Partial<Record<TableName, Access>>,
): void {
  for (const [name, actions] of Object.entries(access) as [TableName, Access][]) {
    const table = tables[name];
    if (!table) throw new Error(`grantTables: no table ${name}`);
    const spec: TableSpec = TABLES[name];
    const resources = [table.tableArn];
    if (actions.includes('dynamodb:Query') && spec.indexes?.length)
      resources.push(`${table.tableArn}/index/*`);
    grant(grantee, actions, resources, { reason: WILDCARD_REASONS.indexes });
  }
}

export function grantTaskResponse(grantee: iam.IGrantable, resourcePrefix: string, scope: Construct): void {
  // Step Functions authorizes SendTask* against the state machine that issued the token.
  grant(grantee, ACTIONS.taskResponse, [arns.stateMachines(scope, resourcePrefix)], {
    reason: WILDCARD_REASONS.stateMachines,
  });
}

export function grantStopTask(grantee: iam.IGrantable, cluster: ecs.ICluster): void {
  grant(grantee, ACTIONS.stopTask, [arns.clusterTasks(cluster)], { reason: WILDCARD_REASONS.clusterTasks });
}

/** Starting the recovery execution of a run whose execution was aborted outside Finale. */
export function grantRecoverExecutions(
  grantee: iam.IGrantable,
  resourcePrefix: string,
  scope: Construct,
): void {
  grant(grantee, ACTIONS.startExecution, [arns.stateMachines(scope, resourcePrefix)], {
    reason: WILDCARD_REASONS.stateMachines,
  });
  grant(grantee, ACTIONS.describeExecution, [arns.executions(scope, resourcePrefix)], {
    reason: WILDCARD_REASONS.executions,
  });
}

interface StartRunsTargets {
  readonly resourcePrefix: string;
  readonly stateMachineRole: iam.IRole;
  readonly taskRole: iam.IRole;
  readonly executionRole: iam.IRole;
}

const passedTo = (service: string) => ({ StringEquals: { 'iam:PassedToService': service } });

/** Everything a run start needs after compiling: task definitions, a state machine version, the execution. */
export function grantStartRuns(grantee: iam.IGrantable, targets: StartRunsTargets, scope: Construct): void {
  grant(grantee, ACTIONS.registerTaskDefinition, ['*'], { reason: WILDCARD_REASONS.noResourceLevel });
  grant(
    grantee,
    [...ACTIONS.publishStateMachine, ...ACTIONS.startExecution],
    [arns.stateMachines(scope, targets.resourcePrefix)],
    { reason: WILDCARD_REASONS.stateMachines },
  );
  grant(grantee, ACTIONS.passRole, [targets.stateMachineRole.roleArn], {
    conditions: passedTo('states.amazonaws.com'),
  });
  grant(grantee, ACTIONS.passRole, [targets.taskRole.roleArn, targets.executionRole.roleArn], {
    conditions: passedTo('ecs-tasks.amazonaws.com'),
  });
}

interface RunTaskSyncTargets {
  readonly resourcePrefix: string;
  readonly cluster: ecs.ICluster;
  readonly taskRole: iam.IRole;
  readonly executionRole: iam.IRole;
  readonly control: lambda.IFunction;
}

/** The pipeline state machines' role: `ecs:runTask.sync` in Finale's cluster and the control Lambda. */
export function grantStateMachine(role: iam.IRole, targets: RunTaskSyncTargets): void {
  grant(role, ACTIONS.runTask, [arns.taskDefinitions(role, targets.resourcePrefix)], {
    conditions: { ArnEquals: { 'ecs:cluster': targets.cluster.clusterArn } },
    reason: WILDCARD_REASONS.taskDefinitions,
  });
  grant(role, ACTIONS.watchTask, [arns.clusterTasks(targets.cluster)], {
    reason: WILDCARD_REASONS.clusterTasks,
  });
  grant(role, ACTIONS.syncRule, [arns.syncRule(role)]);
  grant(role, ACTIONS.passRole, [targets.taskRole.roleArn, targets.executionRole.roleArn], {
    conditions: passedTo('ecs-tasks.amazonaws.com'),
  });
  // The definition names the function by its unqualified ARN (ExecutionInput.env.control).
  grant(role, ACTIONS.invokeControl, [targets.control.functionArn]);
}

export function grantReadSecrets(grantee: iam.IGrantable, secrets: readonly secretsmanager.ISecret[]): void {
  grant(
    grantee,
    ACTIONS.readSecret,
    secrets.map((secret) => secret.secretArn),
  );
}

export function grantWriteLogs(grantee: iam.IGrantable, logGroup: logs.ILogGroup): void {
  grant(grantee, ACTIONS.writeLogs, [logGroup.logGroupArn]);
}

export function grantReadLogs(grantee: iam.IGrantable, logGroup: logs.ILogGroup): void {
  grant(grantee, ACTIONS.readLogs, [logGroup.logGroupArn]);
}

export function grantArtifacts(grantee: iam.IGrantable, bucket: s3.IBucket): void {
  grant(grantee, ACTIONS.artifactsObjects, [bucket.arnForObjects('*')], {
    reason: WILDCARD_REASONS.artifacts,
  });
  grant(grantee, ACTIONS.artifactsList, [bucket.bucketArn]);
}

export function grantPullImages(grantee: iam.IGrantable, repositories: readonly ecr.IRepository[]): void {
  grant(grantee, ACTIONS.ecrToken, ['*'], { reason: WILDCARD_REASONS.noResourceLevel });
  if (repositories.length === 0) return;
  grant(
    grantee,
    ACTIONS.ecrPull,
    repositories.map((repository) => repository.repositoryArn),
  );
}

/**
 * KMS through SSM, and only for the parameters of Finale's variables: SSM sets each SecureString's
 * encryption context to its parameter's ARN, so the key serves no other parameter of the account.
 */
function viaSsm(scope: Construct, resourcePrefix: string) {
  return {
    StringEquals: { 'kms:ViaService': `ssm.${Stack.of(scope).region}.amazonaws.com` },
    StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': arns.variables(scope, resourcePrefix) },
  };
}

/** The API sets and unsets secured variables: it writes parameters, never reads one. */
export function grantWriteVariables(
  grantee: iam.IGrantable,
  key: kms.IKey,
  resourcePrefix: string,
  scope: Construct,
): void {
  grant(grantee, ACTIONS.writeVariables, [arns.variables(scope, resourcePrefix)], {
    reason: WILDCARD_REASONS.variables,
  });
  grant(grantee, ACTIONS.encryptVariables, [key.keyArn], { conditions: viaSsm(scope, resourcePrefix) });
}

/**
 * ECS reads a step's secured variables into its task as the execution role. There is one execution
 * role for every repository, so IAM cannot keep a step from another repository's parameters: that the
 * task definition of a run names only its own repository's parameters is Finale's doing (the executor,
 * storedVariablesFor). Roles per repository, for steps that are not trusted, are issue 11's.
 */
export function grantReadVariables(
  grantee: iam.IGrantable,
  key: kms.IKey,
  resourcePrefix: string,
  scope: Construct,
): void {
  grant(grantee, ACTIONS.readVariables, [arns.variables(scope, resourcePrefix)], {
    reason: WILDCARD_REASONS.variables,
  });
  grant(grantee, ACTIONS.decryptVariables, [key.keyArn], { conditions: viaSsm(scope, resourcePrefix) });
}

/** The step task seals and opens secured output variables, under their own encryption context only. */
export function grantSealOutputs(grantee: iam.IGrantable, key: kms.IKey): void {
  grant(grantee, ACTIONS.sealOutputs, [key.keyArn], {
    conditions: {
      StringEquals: Object.fromEntries(
        Object.entries(OUTPUT_CONTEXT).map(([name, value]) => [`kms:EncryptionContext:${name}`, value]),
      ),
    },
  });
}
