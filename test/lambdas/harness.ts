// Test harness for the Lambda handlers: the real store on dynalite, the real executor and core on
// SDK clients mocked with aws-sdk-client-mock (Step Functions, ECS cannot run here; SSM and KMS, the
// vault's, answer nothing), and a local fake repository host API.

import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  StopTaskCommand,
} from '@aws-sdk/client-ecs';
import { KMSClient } from '@aws-sdk/client-kms';
import {
  CreateStateMachineCommand,
  DescribeStateMachineCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { awsCore, awsExecutorFrom, type ExecutorConfig, logger } from '../../lambdas/runtime';
import { createWebhookHandler } from '../../lambdas/webhook/handler';
import { createHost, type HostConfig } from '../../repository-hosts/index';
import { pipelineCompiler } from '../../statemachine/pipelines';
import { type FakeHttp, startFakeHttp } from '../repository-hosts/fake-http';
import { useDynalite } from '../support/dynalite';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The handlers' structured logs are for CloudWatch; tests read what the handlers return and write.
logger.setLogLevel('SILENT');

export const REGION = 'eu-west-1';
export const ACCOUNT = '123456789012';
export const CONTROL_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:finale-control`;
export const CLUSTER = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/finale`;
export const WEBHOOK_SECRET = 'test-webhook-secret';
export const VARIABLES_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0b0b0b0b-0000-4000-8000-000000000001`;

export const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

export function useAwsHarness(hostConfig: (server: FakeHttp) => HostConfig) {
  const db = useDynalite();
  const sfn = new SFNClient({ region: REGION, credentials });
  const ecs = new ECSClient({ region: REGION, credentials });
  const sfnMock = mockClient(sfn);
  const ecsMock = mockClient(ecs);
  const ssm = new SSMClient({ region: REGION, credentials });
  const kms = new KMSClient({ region: REGION, credentials });
  const ssmMock = mockClient(ssm);
  const kmsMock = mockClient(kms);
  const clients = { sfn, ecs, ssm, kms };
  let server: FakeHttp | undefined;

  beforeAll(async () => {
    server = await startFakeHttp();
  });
  afterAll(() => server?.close());
  beforeEach(async () => {
    // Each test is a new webhook history, as the AWS mocks are new: the changes an earlier test's
    // deliveries carried (the same example payloads) are not replays of this one's.
    const seen = await db.client.send(new ScanCommand({ TableName: db.tables.deliveries }));
    for (const item of seen.Items ?? []) {
      await db.client.send(
        new DeleteCommand({ TableName: db.tables.deliveries, Key: { deliveryId: item.deliveryId } }),
      );
    }
    sfnMock.reset();
    ecsMock.reset();
    ssmMock.reset();
    kmsMock.reset();
    server!.requests.length = 0;
    ecsMock
      .on(DescribeTaskDefinitionCommand)
      .rejects(Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' }));
    ecsMock.on(RegisterTaskDefinitionCommand).callsFake((input) => ({
      taskDefinition: {
        taskDefinitionArn: `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${input.family}:1`,
      },
    }));
    ecsMock.on(StopTaskCommand).resolves({});
    sfnMock
      .on(DescribeStateMachineCommand)
      .rejects(new StateMachineDoesNotExist({ message: 'no', $metadata: {} }));
    sfnMock.on(CreateStateMachineCommand).callsFake((input) => ({
      stateMachineArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${input.name}`,
      stateMachineVersionArn: `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${input.name}:1`,
    }));
    sfnMock.on(StartExecutionCommand).callsFake((input) => ({
      executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:').replace(/:\d+$/, '')}:${input.name}`,
      startDate: new Date(),
    }));
    sfnMock.on(SendTaskSuccessCommand).resolves({});
    sfnMock.on(SendTaskFailureCommand).resolves({});
  });

  const config = (): ExecutorConfig => ({
    tables: db.tables,
    cluster: CLUSTER,
    subnets: ['subnet-a'],
    securityGroups: ['sg-1'],
    assignPublicIp: 'DISABLED',
    stateMachineRoleArn: `arn:aws:iam::${ACCOUNT}:role/finale-sfn`,
    taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/finale-task`,
    executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/finale-execution`,
    logGroup: '/finale/steps',
    controlFunctionArn: CONTROL_ARN,
    hostTokenSecretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:host`,
    artifactsBucket: 'finale-artifacts',
    agentImage: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/finale-agent:1`,
    resourcePrefix: 'finale',
    variablesKeyArn: VARIABLES_KEY,
  });

  return {
    db,
    sfn,
    ecs,
    sfnMock,
    ecsMock,
    get server() {
      return server!;
    },
    host: () => createHost(hostConfig(server!)),
    /** A fresh executor, as a fresh Lambda container would build it. */
    ssmMock,
    kmsMock,
    executor: () => awsExecutorFrom(config(), clients, db.store),
    core: () => awsCore(db.store, clients, config(), { pipelines: pipelineCompiler }),
    config,
    /** The webhook handler as its Lambda builds it, over this harness's store, AWS mocks and host. */
    webhook: (log: TestLog = quiet) =>
      createWebhookHandler(() => ({
        core: awsCore(db.store, clients, config(), { pipelines: pipelineCompiler }),
        executor: awsExecutorFrom(config(), clients, db.store),
        host: async () => createHost(hostConfig(server!)),
        secret: async () => WEBHOOK_SECRET,
        region: REGION,
        log,
      })),
  };
}

/** The logger's face the handlers use; tests pass quiet ones, or ones that collect the warnings. */
export type TestLog = Pick<typeof logger, 'info' | 'warn' | 'error'>;

export const quiet: TestLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
