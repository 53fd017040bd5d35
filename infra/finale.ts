// `Finale`: everything a deployment needs, as one construct users can put in their own CDK app.
// The run-time resources (task definitions, state machines) are not here: the webhook and API functions
// create them per pipeline, named `<resourcePrefix>-…`, and every permission is scoped to that prefix.

import { fileURLToPath } from 'node:url';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecr from 'aws-cdk-lib/aws-ecr';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { LAMBDA_ENV, type LambdaConfig } from '../aws/config';
import { METRICS } from '../aws/metrics';
import type { TableName } from '../store/tables';
import { type ApiThrottle, FinaleApi } from './api';
import { FinaleMonitoring } from './dashboard';
import { FinaleEvents } from './events';
import { FinaleFunctions, FUNCTION_NAMES, type FunctionEntries, type FunctionName } from './functions';
import { grantFinale } from './grants';
import { type FinaleExistingVpc, FinaleNetwork } from './network';
import { arns } from './permissions';
import { createSecrets } from './secrets';
import { type FinaleAgentImage, FinaleStepTasks } from './step-tasks';
import { FinaleTables } from './tables';
import {
  checkFile,
  checkId,
  checkInteger,
  checkNumber,
  checkResourcePrefix,
  checkWholeDays,
  FinalePropsError,
} from './validate';
import { createVariablesKey } from './variables';

export type { ApiThrottle } from './api';
export type { FinaleExistingVpc } from './network';
export type { FinaleAgentImage } from './step-tasks';

/** The checkout this file belongs to: the default source of the handlers and of the agent image. */
const SOURCE_DIRECTORY = fileURLToPath(new URL('..', import.meta.url));

export const DEFAULT_ENTRIES: FunctionEntries = {
  webhook: fileURLToPath(new URL('../lambdas/webhook/index.ts', import.meta.url)),
  api: fileURLToPath(new URL('../lambdas/api/index.ts', import.meta.url)),
  control: fileURLToPath(new URL('../lambdas/control/index.ts', import.meta.url)),
  events: fileURLToPath(new URL('../lambdas/events/index.ts', import.meta.url)),
};

export interface FinaleProps {
  /**
   * Start of the names of everything Finale creates at run time (state machines, task definition
   * families) and of its functions. Two Finales in one account and region need different prefixes.
   *
   * @default 'finale'
   */
  readonly resourcePrefix?: string;
  /**
   * Run the step tasks in an existing VPC, given by ids (nothing is looked up).
   *
   * @default - a new VPC (see natGateways)
   */
  readonly existingVpc?: FinaleExistingVpc;
  /**
   * NAT gateways of the new VPC. With 1 or more the tasks run in private subnets; with 0 they run in
   * public subnets with public IPs (no inbound rule lets anything in), which saves the NAT gateway's
   * hourly and per-GB charges.
   *
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * Availability zones of the new VPC.
   *
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * Retention of the step logs and of Finale's own logs (functions, API access, VPC flow logs).
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the tables, the artifacts bucket, the log groups and the secrets when the construct
   * is removed. A bucket that still holds artifacts cannot be destroyed by CloudFormation.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * A customer managed key for the tables.
   *
   * @default - the AWS managed key `aws/dynamodb`
   */
  readonly tableEncryptionKey?: kms.IKey;
  /**
   * How long step artifacts are kept.
   *
   * @default Duration.days(14)
   */
  readonly artifactsExpiration?: Duration;
  /**
   * The image of Finale's prepare and agent containers (a `DockerImageAsset` will do).
   *
   * @default - built from `agent/Dockerfile` of this checkout by Docker at deploy time, for linux/amd64
   */
  readonly agentImage?: FinaleAgentImage;
  /**
   * Private ECR repositories the step images may come from (`image:` in the pipeline file).
   *
   * @default - none: step images come from public registries
   */
  readonly stepImageRepositories?: readonly ecr.IRepository[];
  /**
   * ECS Container Insights on the cluster.
   *
   * @default false
   */
  readonly containerInsights?: boolean;
  /**
   * The success-rate alarm fires when fewer than this percentage of the runs that ended in 6 hours succeeded.
   *
   * @default 80
   */
  readonly successRateAlarmThreshold?: number;
  /**
   * Where alarms notify.
   *
   * @default - the alarms have no actions (they show on the dashboard)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Stage throttle of the HTTP API, across all routes.
   *
   * @default { rateLimit: 50, burstLimit: 100 }
   */
  readonly apiThrottle?: ApiThrottle;
  /**
   * Entry files of the functions, each exporting `handler`.
   *
   * @default - `lambdas/<name>/index.ts` of this checkout
   */
  readonly entries?: Partial<FunctionEntries>;
}

export const DEFAULTS = {
  resourcePrefix: 'finale',
  natGateways: 1,
  maxAzs: 2,
  logRetention: logs.RetentionDays.ONE_MONTH,
  removalPolicy: RemovalPolicy.RETAIN,
  artifactsExpiration: Duration.days(14),
  containerInsights: false,
  successRateAlarmThreshold: 80,
  apiThrottle: { rateLimit: 50, burstLimit: 100 },
} as const;

export class Finale extends Construct {
  readonly resourcePrefix: string;
  readonly tables: Readonly<Record<TableName, dynamodb.Table>>;
  readonly vpc: ec2.IVpc;
  readonly taskSecurityGroup: ec2.SecurityGroup;
  readonly cluster: ecs.Cluster;
  readonly taskRole: iam.Role;
  readonly executionRole: iam.Role;
  /** The role the pipeline state machines run as. */
  readonly stateMachineRole: iam.Role;
  readonly stepLogGroup: logs.LogGroup;
  readonly artifactsBucket: s3.Bucket;
  readonly webhookSecret: secretsmanager.Secret;
  readonly hostTokenSecret: secretsmanager.Secret;
  /** The key of the secured variables' SSM parameters and of secured output variables. */
  readonly variablesKey: kms.Key;
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  readonly httpApi: apigw.HttpApi;
  /** Base URL of the HTTP API, ending in `/`. */
  readonly apiUrl: string;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: readonly cloudwatch.Alarm[];
  /** The environment every function gets: each variable of aws/config.ts and its value. */
  readonly functionEnvironment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: FinaleProps = {}) {
    super(scope, id);
    const settings = resolveProps(props);
    const prefix = settings.resourcePrefix;
    this.resourcePrefix = prefix;
    const stack = Stack.of(this);

    this.tables = new FinaleTables(this, 'Tables', {
      removalPolicy: settings.removalPolicy,
      encryptionKey: props.tableEncryptionKey,
    }).tables;

    const network = new FinaleNetwork(this, 'Network', {
      existingVpc: props.existingVpc,
      natGateways: settings.natGateways,
      maxAzs: settings.maxAzs,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    this.vpc = network.vpc;
    this.taskSecurityGroup = network.securityGroup;

    const steps = new FinaleStepTasks(this, 'Steps', {
      vpc: network.vpc,
      sourceDirectory: SOURCE_DIRECTORY,
      agentImage: props.agentImage,
      stepImageRepositories: props.stepImageRepositories ?? [],
      containerInsights: settings.containerInsights,
      logRetention: settings.logRetention,
      artifactsExpiration: settings.artifactsExpiration,
      removalPolicy: settings.removalPolicy,
    });
    this.cluster = steps.cluster;
    this.taskRole = steps.taskRole;
    this.executionRole = steps.executionRole;
    this.stepLogGroup = steps.logGroup;
    this.artifactsBucket = steps.artifactsBucket;

    const secrets = createSecrets(this, settings);
    this.webhookSecret = secrets.webhookSecret;
    this.hostTokenSecret = secrets.hostTokenSecret;
    this.variablesKey = createVariablesKey(this, settings);

    this.stateMachineRole = new iam.Role(this, 'StateMachineRole', {
      description: `Finale (${prefix}): the role the pipeline state machines run as`,
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': arns.stateMachines(this, prefix) },
        },
      }),
    });

    const functionName = (name: FunctionName) => `${prefix}-${name}`;
    // Named, so the control function's ARN is known without referring to the function itself (its own
    // environment carries it too).
    const controlFunctionArn = stack.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: functionName('control'),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const config: { [K in Exclude<keyof LambdaConfig, 'tables'>]: string } = {
      cluster: this.cluster.clusterArn,
      subnets: network.subnetIds.join(','),
      securityGroups: network.securityGroup.securityGroupId,
      assignPublicIp: network.assignPublicIp ? 'ENABLED' : 'DISABLED',
      stateMachineRoleArn: this.stateMachineRole.roleArn,
      taskRoleArn: this.taskRole.roleArn,
      executionRoleArn: this.executionRole.roleArn,
      logGroup: this.stepLogGroup.logGroupName,
      controlFunctionArn,
      webhookSecretArn: this.webhookSecret.secretArn,
      hostTokenSecretArn: this.hostTokenSecret.secretArn,
      artifactsBucket: this.artifactsBucket.bucketName,
      agentImage: steps.agentImage.imageUri,
      resourcePrefix: prefix,
      variablesKeyArn: this.variablesKey.keyArn,
    };
    this.functionEnvironment = {
      ...Object.fromEntries(
        Object.entries(LAMBDA_ENV.tables).map(([table, variable]) => [
          variable,
          this.tables[table as TableName].tableName,
        ]),
      ),
      ...Object.fromEntries(
        Object.entries(config).map(([key, value]) => [LAMBDA_ENV[key as keyof typeof config], value]),
      ),
      POWERTOOLS_SERVICE_NAME: METRICS.service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    };

    this.functions = new FinaleFunctions(this, 'Functions', {
      entries: settings.entries,
      names: Object.fromEntries(FUNCTION_NAMES.map((name) => [name, functionName(name)])) as Record<
        FunctionName,
        string
      >,
      environment: this.functionEnvironment,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    }).functions;
    const { webhook, api, events } = this.functions;

    grantFinale(this);

    const finaleApi = new FinaleApi(this, 'Api', {
      webhook,
      api,
      throttle: settings.apiThrottle,
      logRetention: settings.logRetention,
      removalPolicy: settings.removalPolicy,
    });
    this.httpApi = finaleApi.httpApi;
    this.apiUrl = finaleApi.url;

    const eventRules = new FinaleEvents(this, 'Events', {
      handler: events,
      cluster: this.cluster,
      resourcePrefix: prefix,
    });

    const monitoring = new FinaleMonitoring(this, 'Monitoring', {
      functions: this.functions,
      httpApi: this.httpApi,
      deadLetterQueue: eventRules.deadLetterQueue,
      successRateThreshold: settings.successRateAlarmThreshold,
      alarmTopic: props.alarmTopic,
    });
    this.dashboard = monitoring.dashboard;
    this.alarms = monitoring.alarms;
  }

  /** The URL a repository host delivers to: `source` is the host kind the webhook function knows. */
  webhookUrl(source: string): string {
    return `${this.apiUrl}webhooks/${source}`;
  }

  /** Lets a user or role call the runs API (the `finale` CLI signs with SigV4). */
  grantInvokeApi(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.httpApi.arnForExecuteApi()],
    });
  }
}

interface ResolvedProps {
  readonly resourcePrefix: string;
  readonly natGateways: number;
  readonly maxAzs: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly artifactsExpiration: Duration;
  readonly containerInsights: boolean;
  readonly successRateAlarmThreshold: number;
  readonly apiThrottle: ApiThrottle;
  readonly entries: FunctionEntries;
}

function checkRetention(value: logs.RetentionDays): logs.RetentionDays {
  if (!Object.values(logs.RetentionDays).includes(value)) {
    throw new FinalePropsError(
      'logRetention',
      value,
      'must be one of logs.RetentionDays (1, 3, 5, 7, 14, 30, …)',
    );
  }
  return value;
}

/** Defaults applied and every prop checked, naming the prop and the bad value. */
function resolveProps(props: FinaleProps): ResolvedProps {
  const existing = props.existingVpc;
  if (existing) {
    for (const prop of ['natGateways', 'maxAzs'] as const) {
      if (props[prop] !== undefined) {
        throw new FinalePropsError(prop, props[prop], 'applies only to a new VPC, not with existingVpc');
      }
    }
    checkId('existingVpc.vpcId', existing.vpcId, 'vpc');
    if (existing.subnetIds.length === 0) {
      throw new FinalePropsError(
        'existingVpc.subnetIds',
        existing.subnetIds,
        'must name at least one subnet',
      );
    }
    existing.subnetIds.forEach((subnet, index) => {
      checkId(`existingVpc.subnetIds[${index}]`, subnet, 'subnet');
    });
    const zones = existing.availabilityZones;
    if (zones && (zones.length === 0 || existing.subnetIds.length % zones.length !== 0)) {
      throw new FinalePropsError(
        'existingVpc.availabilityZones',
        zones,
        `must list the zones of the ${existing.subnetIds.length} subnets (the subnet count a multiple of the zone count)`,
      );
    }
  }
  const maxAzs = checkInteger('maxAzs', props.maxAzs ?? DEFAULTS.maxAzs, 1, 6);
  const throttle = props.apiThrottle ?? DEFAULTS.apiThrottle;
  checkNumber('apiThrottle.rateLimit', throttle.rateLimit, 0, 10_000);
  checkInteger('apiThrottle.burstLimit', throttle.burstLimit, 1, 5_000);
  const entries = { ...DEFAULT_ENTRIES, ...props.entries };
  for (const name of FUNCTION_NAMES) checkFile(`entries.${name}`, entries[name]);
  return {
    resourcePrefix: checkResourcePrefix(props.resourcePrefix ?? DEFAULTS.resourcePrefix),
    natGateways: checkInteger('natGateways', props.natGateways ?? DEFAULTS.natGateways, 0, maxAzs),
    maxAzs,
    logRetention: checkRetention(props.logRetention ?? DEFAULTS.logRetention),
    removalPolicy: props.removalPolicy ?? DEFAULTS.removalPolicy,
    artifactsExpiration: checkWholeDays(
      'artifactsExpiration',
      props.artifactsExpiration ?? DEFAULTS.artifactsExpiration,
    ),
    containerInsights: props.containerInsights ?? DEFAULTS.containerInsights,
    successRateAlarmThreshold: checkNumber(
      'successRateAlarmThreshold',
      props.successRateAlarmThreshold ?? DEFAULTS.successRateAlarmThreshold,
      0,
      100,
    ),
    apiThrottle: throttle,
    entries,
  };
}
