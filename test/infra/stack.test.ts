// The resources of the default Finale stack, read from its synthesized template.

import { beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../api/app';
import { LAMBDA_ENV } from '../../aws/config';
import { METRICS } from '../../aws/metrics';
import { API_ROUTES, WEBHOOK_ROUTE } from '../../infra/api';
import { EXECUTION_END_STATUSES } from '../../infra/events';
import { WEBHOOK_SOURCES } from '../../infra/finale-stack';
import { TABLES } from '../../store/tables';
import { joinedJson, type Synthesized, showDeep, synthFinale, TEST_AGENT_IMAGE } from './synth';

let synth: Synthesized;
beforeAll(() => {
  synth = synthFinale();
});

const resources = (type: string) =>
  Object.entries(synth.template.findResources(type)).map(([id, resource]) => ({
    path: synth.aliases.get(id),
    properties: resource.Properties ?? {},
    resource,
  }));

describe('tables', () => {
  it('has one table per store/tables.ts entry: on demand, PITR, KMS encryption, TTL, GSIs, retained', () => {
    const tables = resources('AWS::DynamoDB::Table');
    expect(tables.map((table) => table.path).sort()).toEqual(
      Object.values(TABLES)
        .map((spec) => `Tables/${spec.name}`)
        .sort(),
    );
    for (const spec of Object.values(TABLES)) {
      const table = tables.find((candidate) => candidate.path === `Tables/${spec.name}`)!;
      const keys = [spec.partitionKey, ...('sortKey' in spec ? [spec.sortKey] : [])];
      expect(table.properties.KeySchema).toEqual(
        keys.map((key, index) => ({ AttributeName: key.name, KeyType: index === 0 ? 'HASH' : 'RANGE' })),
      );
      expect(table.properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.properties.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.properties.TimeToLiveSpecification).toEqual(
        'ttlAttribute' in spec ? { AttributeName: spec.ttlAttribute, Enabled: true } : undefined,
      );
      const indexes = 'indexes' in spec ? spec.indexes : [];
      expect(table.properties.GlobalSecondaryIndexes ?? []).toEqual(
        indexes.map((index) => ({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
            { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        })),
      );
      expect(table.resource.DeletionPolicy).toBe('Retain');
      expect(table.resource.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('declares the GSI key types from the spec', () => {
    const runs = resources('AWS::DynamoDB::Table').find((table) => table.path === 'Tables/runs')!;
    expect(runs.properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'runId', AttributeType: 'S' },
        { AttributeName: 'repository', AttributeType: 'S' },
        { AttributeName: 'buildNumber', AttributeType: 'N' },
      ]),
    );
  });
});

describe('functions', () => {
  const functionPaths = ['Functions/api', 'Functions/control', 'Functions/events', 'Functions/webhook'];

  it('runs four functions on nodejs22.x, arm64, named by the prefix, bundled as ES modules', () => {
    const functions = resources('AWS::Lambda::Function');
    expect(functions.map((fn) => fn.path).sort()).toEqual(functionPaths);
    for (const fn of functions) {
      const name = fn.path!.split('/')[1];
      expect(fn.properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        FunctionName: `finale-${name}`,
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
      expect(synth.show(fn.properties.LoggingConfig.LogGroup)).toBe(`<Functions/${name}Logs>`);
      expect(synth.show(fn.properties.Role)).toBe(`<Functions/${name}Role.Arn>`);
    }
    const settings = Object.fromEntries(
      functions.map((fn) => [fn.path, [fn.properties.MemorySize, fn.properties.Timeout]]),
    );
    // The two API Gateway integrations stay under its 30 s limit.
    expect(settings).toEqual({
      'Functions/webhook': [1024, 29],
      'Functions/api': [512, 29],
      'Functions/control': [512, 30],
      'Functions/events': [512, 60],
    });
  });

  it('gives every function every variable of aws/config.ts, with the deployed value', () => {
    const expected: Record<string, string> = {
      [LAMBDA_ENV.tables.runs]: '<Tables/runs>',
      [LAMBDA_ENV.tables.locks]: '<Tables/locks>',
      [LAMBDA_ENV.tables.repositories]: '<Tables/repositories>',
      [LAMBDA_ENV.tables.plans]: '<Tables/plans>',
      [LAMBDA_ENV.tables.deliveries]: '<Tables/deliveries>',
      [LAMBDA_ENV.cluster]: '<Steps/Cluster.Arn>',
      [LAMBDA_ENV.subnets]: '<Network/Vpc/tasksSubnet1/Subnet>,<Network/Vpc/tasksSubnet2/Subnet>',
      [LAMBDA_ENV.securityGroups]: '<Network/TaskSecurityGroup.GroupId>',
      [LAMBDA_ENV.assignPublicIp]: 'DISABLED',
      [LAMBDA_ENV.stateMachineRoleArn]: '<StateMachineRole.Arn>',
      [LAMBDA_ENV.taskRoleArn]: '<Steps/TaskRole.Arn>',
      [LAMBDA_ENV.executionRoleArn]: '<Steps/ExecutionRole.Arn>',
      [LAMBDA_ENV.logGroup]: '<Steps/StepLogs>',
      [LAMBDA_ENV.controlFunctionArn]:
        'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:finale-control',
      [LAMBDA_ENV.webhookSecretArn]: '<WebhookSecret>',
      [LAMBDA_ENV.hostTokenSecretArn]: '<HostToken>',
      [LAMBDA_ENV.artifactsBucket]: '<Steps/Artifacts>',
      [LAMBDA_ENV.agentImage]: TEST_AGENT_IMAGE,
      [LAMBDA_ENV.resourcePrefix]: 'finale',
      [LAMBDA_ENV.variablesKeyArn]: '<VariablesKey.Arn>',
      POWERTOOLS_SERVICE_NAME: METRICS.service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      NODE_OPTIONS: '--enable-source-maps',
    };
    // Every variable the contract names is in the expectation, so a new one fails here until it is set.
    const { tables, ...others } = LAMBDA_ENV;
    const contract: string[] = [...Object.values(tables), ...Object.values(others)];
    expect(Object.keys(expected)).toEqual(expect.arrayContaining(contract));
    for (const fn of resources('AWS::Lambda::Function')) {
      expect(showDeep(synth, fn.properties.Environment.Variables)).toEqual(expected);
    }
  });

  it('names the control function by the same ARN the state machine role may invoke', () => {
    const control = resources('AWS::Lambda::Function').find((fn) => fn.path === 'Functions/control')!;
    expect(control.properties.FunctionName).toBe('finale-control');
  });

  it('keeps the function logs for the retention, retained by default', () => {
    for (const name of ['webhook', 'api', 'control', 'events']) {
      const group = resources('AWS::Logs::LogGroup').find((log) => log.path === `Functions/${name}Logs`)!;
      expect(group.properties.RetentionInDays).toBe(30);
      expect(group.resource.DeletionPolicy).toBe('Retain');
    }
  });
});

describe('HTTP API', () => {
  it('opens only the webhook route; every runs API route is IAM-authorized, each to its function', () => {
    // Integration logical id → the function it invokes.
    const integrations = new Map(
      Object.entries(synth.template.findResources('AWS::ApiGatewayV2::Integration')).map(
        ([id, integration]) => [id, synth.show(integration.Properties.IntegrationUri)],
      ),
    );
    expect([...integrations.values()].sort()).toEqual(['<Functions/api.Arn>', '<Functions/webhook.Arn>']);
    const served = resources('AWS::ApiGatewayV2::Route').map((route) => ({
      key: route.properties.RouteKey as string,
      auth: route.properties.AuthorizationType as string,
      // Target is `integrations/<integration id>`.
      function: integrations.get(
        (route.properties.Target['Fn::Join'][1] as [string, { Ref: string }])[1].Ref,
      ),
    }));
    expect(served.sort((a, b) => a.key.localeCompare(b.key))).toEqual(
      [
        { key: 'POST /webhooks/{source}', auth: 'NONE', function: '<Functions/webhook.Arn>' },
        ...API_ROUTES.map((route) => ({
          key: `${route.method} ${route.path}`,
          auth: 'AWS_IAM',
          function: '<Functions/api.Arn>',
        })),
      ].sort((a, b) => a.key.localeCompare(b.key)),
    );
    expect(WEBHOOK_ROUTE).toEqual({ method: 'POST', path: '/webhooks/{source}' });
  });

  it('routes exactly what the Hono app of api/app.ts serves', () => {
    const deps = { core: { deps: { store: {} } } } as unknown as Parameters<typeof createApi>[0];
    const served = createApi(deps)
      .routes.filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`);
    expect(new Set(served)).toEqual(new Set(API_ROUTES.map((route) => `${route.method} ${route.path}`)));
  });

  it('logs every request to a log group and throttles the stage', () => {
    const [stage] = resources('AWS::ApiGatewayV2::Stage');
    expect(stage!.properties).toMatchObject({
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
    });
    expect(synth.show(stage!.properties.AccessLogSettings.DestinationArn)).toBe('<Api/AccessLogs.Arn>');
    expect(JSON.parse(stage!.properties.AccessLogSettings.Format)).toMatchObject({
      caller: '$context.identity.userArn',
      route: '$context.routeKey',
      status: '$context.status',
    });
  });

  it('lets only this API invoke the two functions', () => {
    const permissions = resources('AWS::Lambda::Permission').filter(
      (permission) => permission.properties.Principal === 'apigateway.amazonaws.com',
    );
    expect(new Set(permissions.map((permission) => synth.show(permission.properties.FunctionName)))).toEqual(
      new Set(['<Functions/webhook.Arn>', '<Functions/api.Arn>']),
    );
    for (const permission of permissions) {
      expect(synth.show(permission.properties.SourceArn)).toMatch(
        /^arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<Api\/HttpApi>\/\*\/\*\//,
      );
    }
  });
});

describe('step execution', () => {
  it('has an ECS cluster with the FARGATE and FARGATE_SPOT capacity providers, Container Insights off', () => {
    const [cluster] = resources('AWS::ECS::Cluster');
    expect(cluster!.properties.ClusterSettings).toEqual([{ Name: 'containerInsights', Value: 'disabled' }]);
    const [providers] = resources('AWS::ECS::ClusterCapacityProviderAssociations');
    expect(providers!.properties.CapacityProviders).toEqual(['FARGATE', 'FARGATE_SPOT']);
    expect(synth.show(providers!.properties.Cluster)).toBe('<Steps/Cluster>');
  });

  it('keeps the step logs 30 days by default', () => {
    const steps = resources('AWS::Logs::LogGroup').find((group) => group.path === 'Steps/StepLogs')!;
    expect(steps.properties.RetentionInDays).toBe(30);
    expect(steps.resource.DeletionPolicy).toBe('Retain');
  });

  it('keeps artifacts in an encrypted, private, SSL-only bucket that expires them', () => {
    const [bucket] = resources('AWS::S3::Bucket');
    expect(bucket!.properties).toMatchObject({
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          {
            ExpirationInDays: 14,
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            Status: 'Enabled',
          },
        ],
      },
    });
    const [policy] = resources('AWS::S3::BucketPolicy');
    expect(policy!.properties.PolicyDocument.Statement).toEqual([
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    ]);
  });

  it('creates a VPC with public and private subnets behind one NAT gateway, and flow logs', () => {
    const subnets = resources('AWS::EC2::Subnet').map((subnet) => subnet.path);
    expect(subnets.sort()).toEqual([
      'Network/Vpc/publicSubnet1/Subnet',
      'Network/Vpc/publicSubnet2/Subnet',
      'Network/Vpc/tasksSubnet1/Subnet',
      'Network/Vpc/tasksSubnet2/Subnet',
    ]);
    expect(resources('AWS::EC2::NatGateway')).toHaveLength(1);
    const [flowLog] = resources('AWS::EC2::FlowLog');
    expect(flowLog!.properties).toMatchObject({ TrafficType: 'REJECT', ResourceType: 'VPC' });
  });

  it('gives the tasks a security group with no ingress', () => {
    const group = resources('AWS::EC2::SecurityGroup').find((sg) => sg.path === 'Network/TaskSecurityGroup')!;
    expect(group.properties.SecurityGroupIngress).toBeUndefined();
    expect(group.properties.SecurityGroupEgress).toEqual([
      { CidrIp: '0.0.0.0/0', Description: 'Allow all outbound traffic by default', IpProtocol: '-1' },
    ]);
    expect(resources('AWS::EC2::SecurityGroupIngress')).toEqual([]);
  });
});

describe('secrets', () => {
  it('generates the webhook secret and holds a placeholder for the host token', () => {
    const secrets = Object.fromEntries(
      resources('AWS::SecretsManager::Secret').map((secret) => [secret.path, secret.properties]),
    );
    expect(secrets.WebhookSecret).toMatchObject({
      GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 48 },
    });
    expect(secrets.HostToken).toMatchObject({ SecretString: 'REPLACE_ME' });
    expect(Object.keys(secrets).sort()).toEqual(['HostToken', 'WebhookSecret']);
  });
});

describe('events', () => {
  it("sends ECS task state changes of Finale's cluster to the events function", () => {
    const rule = resources('AWS::Events::Rule').find((r) => r.path === 'Events/TaskStateChange')!;
    expect(showDeep(synth, rule.properties.EventPattern)).toEqual({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { clusterArn: ['<Steps/Cluster.Arn>'] },
    });
    expect(rule.properties.State).toBe('ENABLED');
    expect(showDeep(synth, rule.properties.Targets)).toEqual([
      expect.objectContaining({
        Arn: '<Functions/events.Arn>',
        DeadLetterConfig: { Arn: '<Events/DeadLetters.Arn>' },
        RetryPolicy: { MaximumEventAgeInSeconds: 21600, MaximumRetryAttempts: 8 },
      }),
    ]);
  });

  it("sends the end of executions of the prefix's state machines to the events function", () => {
    const rule = resources('AWS::Events::Rule').find((r) => r.path === 'Events/ExecutionStatusChange')!;
    expect(showDeep(synth, rule.properties.EventPattern)).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: {
        stateMachineArn: [
          { prefix: 'arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:stateMachine:finale-' },
        ],
        status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
      },
    });
    expect(EXECUTION_END_STATUSES).toEqual(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);
    expect(showDeep(synth, rule.properties.Targets)).toEqual([
      expect.objectContaining({
        Arn: '<Functions/events.Arn>',
        DeadLetterConfig: { Arn: '<Events/DeadLetters.Arn>' },
      }),
    ]);
  });

  it('keeps events whose handling failed in an encrypted dead-letter queue', () => {
    const [invokeConfig] = resources('AWS::Lambda::EventInvokeConfig');
    expect(showDeep(synth, invokeConfig!.properties)).toMatchObject({
      FunctionName: '<Functions/events>',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: '<Events/DeadLetters.Arn>' } },
    });
    const [queue] = resources('AWS::SQS::Queue');
    expect(queue!.properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
  });
});

describe('monitoring', () => {
  const dashboardBody = () => {
    const [dashboard] = resources('AWS::CloudWatch::Dashboard');
    return joinedJson(synth, dashboard!.properties.DashboardBody) as {
      widgets: { properties: { title?: string } }[];
    };
  };

  it('graphs the seed SLIs from the metrics aws/metrics.ts emits', () => {
    const body = dashboardBody();
    const titles = body.widgets.map((widget) => widget.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'Pipeline success rate (%)',
        'Runs and deployments per day',
        'Pipeline duration (s)',
        'Queue time, created to started (s)',
        'Lambda errors',
        'Lambda throttles',
        'Alarms',
      ]),
    );
    const metrics = JSON.stringify(body);
    for (const name of Object.values(METRICS.names)) {
      expect(metrics).toContain(`["${METRICS.namespace}","${name}","service","${METRICS.service}"`);
    }
    expect(metrics).toContain('IF(runs > 0, 100 * succeeded / runs)');
  });

  it('alarms on the success rate, function errors and throttles, API 5xx and dead letters', () => {
    const alarms = Object.fromEntries(
      resources('AWS::CloudWatch::Alarm').map((alarm) => [
        alarm.path!.replace('Monitoring/', ''),
        alarm.properties,
      ]),
    );
    expect(Object.keys(alarms).sort()).toEqual(
      [
        'SuccessRateAlarm',
        'webhookErrorsAlarm',
        'apiErrorsAlarm',
        'eventsErrorsAlarm',
        'webhookThrottlesAlarm',
        'apiThrottlesAlarm',
        'controlThrottlesAlarm',
        'eventsThrottlesAlarm',
        'ApiServerErrorsAlarm',
        'DeadLettersAlarm',
      ].sort(),
    );
    expect(alarms.SuccessRateAlarm).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 80,
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: 'IF(runs > 0, 100 * succeeded / runs)', ReturnData: true }),
        expect.objectContaining({
          Id: 'succeeded',
          MetricStat: expect.objectContaining({
            Metric: {
              Namespace: 'Finale',
              MetricName: METRICS.names.successfulRuns,
              Dimensions: [{ Name: 'service', Value: 'finale' }],
            },
            Period: 21600,
            Stat: 'Sum',
          }),
        }),
      ]),
    });
    expect(alarms.webhookErrorsAlarm).toMatchObject({
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(showDeep(synth, alarms.webhookErrorsAlarm!.Dimensions)).toEqual([
      { Name: 'FunctionName', Value: '<Functions/webhook>' },
    ]);
    expect(alarms.DeadLettersAlarm).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
    });
    expect(alarms.ApiServerErrorsAlarm).toMatchObject({ MetricName: '5xx', Namespace: 'AWS/ApiGateway' });
    for (const alarm of Object.values(alarms)) expect(alarm.AlarmActions).toBeUndefined();
  });
});

describe('outputs', () => {
  it('outputs the API URL, one webhook URL per host, the secrets, the dashboard and the bucket', () => {
    const outputs = Object.fromEntries(
      Object.entries(synth.template.findOutputs('*')).map(([id, output]) => [id, synth.show(output.Value)]),
    );
    const apiUrl = 'https://<Api/HttpApi>.execute-api.<AWS::Region>.<AWS::URLSuffix>/';
    expect(outputs).toEqual({
      ApiUrl: apiUrl,
      ...Object.fromEntries(
        Object.entries(WEBHOOK_SOURCES).map(([host, source]) => [
          `WebhookUrl${host}`,
          `${apiUrl}webhooks/${source}`,
        ]),
      ),
      WebhookSecretArn: '<WebhookSecret>',
      HostTokenSecretArn: '<HostToken>',
      DashboardName: '<Monitoring/Dashboard>',
      ArtifactsBucketName: '<Steps/Artifacts>',
    });
  });

  it('synthesizes without an account, a region or any lookup', () => {
    expect(synth.stack.account).toMatch(/^\$\{Token/);
    expect(synth.stack.region).toMatch(/^\$\{Token/);
    const assembly = synth.app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
    expect(synth.template.toJSON()).toMatchObject({ Resources: expect.any(Object) });
  });
});
