// A run's start on moto: secured variables set through the core land in SSM (moto), the executor
// registers each step's task definition with moto's ECS, which takes the `secrets` as they are, and no
// request — to ECS or in the execution input — carries a secured value: only parameter ARNs.

import {
  DescribeTaskDefinitionCommand,
  ECSClient,
  type RegisterTaskDefinitionCommandInput,
} from '@aws-sdk/client-ecs';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, expect, it } from 'vitest';
import { awsExecutor } from '../../aws/executor';
import { createTaskDefinitions } from '../../aws/task-definitions';
import { ssmVault } from '../../aws/vault';
import { recordEnvironments, setVariable, storedVariablesOfRun } from '../../core/repository-variables';
import { alice, planOf, useCoreHarness } from '../core/fixtures';
import { MOTO_ACCOUNT, MOTO_REGION, motoTaskDefinitionSettings, useMoto } from '../support/moto';

const moto = useMoto();
const h = useCoreHarness();
const SECRETS = { NPM_TOKEN: 'npm_9f8e7d6c5b4a3210', DEPLOY_KEY: 'deploy-key-5b4a3210ffee' };

let ecs: ECSClient;
let ssm: SSMClient;
let keyArn: string;
beforeAll(async () => {
  ecs = new ECSClient(moto.clientConfig);
  ssm = new SSMClient(moto.clientConfig);
  keyArn = (await new KMSClient(moto.clientConfig).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
});

const settings = () => motoTaskDefinitionSettings({ tables: h.db.tables, variablesKeyArn: keyArn });

/** Every RegisterTaskDefinition request: its input, and its body as it went over the wire. */
function recordRegistrations(client: ECSClient) {
  const recorded: { input: RegisterTaskDefinitionCommandInput; body: string }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'RegisterTaskDefinitionCommand') {
        const { body } = args.request as { body: string | Uint8Array };
        recorded.push({
          input: args.input as RegisterTaskDefinitionCommandInput,
          body: typeof body === 'string' ? body : Buffer.from(body).toString('utf8'),
        });
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordRegistrations' },
  );
  return recorded;
}

it('registers definitions with secrets by ARN that moto accepts, and no secured value goes anywhere', async () => {
  const vault = ssmVault({ ssm, kms: new KMSClient(moto.clientConfig), keyArn, prefix: 'finale' });
  const deps = { ...h.deps, vault };
  const repository = h.repository();
  await recordEnvironments(repository, ['production'], deps);
  const set = (name: string, value: string, options: { secured?: boolean; deployment?: string } = {}) =>
    setVariable(
      { repository, caller: alice, name, value, secured: options.secured ?? true, ...options },
      deps,
    );
  await set('NPM_TOKEN', SECRETS.NPM_TOKEN);
  await set('DEPLOY_KEY', SECRETS.DEPLOY_KEY, { deployment: 'production' });
  await set('API_URL', 'https://api.example', { secured: false });

  const plan = planOf([
    { name: 'Build' },
    { name: 'Deploy', environment: { BITBUCKET_DEPLOYMENT_ENVIRONMENT: 'production' } },
    { name: 'Test' },
  ]);
  const run = await h.newRun(plan, { repository });
  const sfn = new SFNClient(moto.clientConfig);
  const sfnMock = mockClient(sfn);
  sfnMock.on(StartExecutionCommand).resolves({});
  const recorded = recordRegistrations(ecs);
  const executor = awsExecutor({
    sfn,
    store: h.db.store,
    environment: {
      controlFunctionArn: `arn:aws:lambda:${MOTO_REGION}:${MOTO_ACCOUNT}:function:finale-control`,
      cluster: `arn:aws:ecs:${MOTO_REGION}:${MOTO_ACCOUNT}:cluster/finale`,
      subnets: ['subnet-a'],
      securityGroups: ['sg-1'],
      assignPublicIp: 'DISABLED',
    },
    taskDefinitions: createTaskDefinitions(ecs, settings()),
    storedVariables: (current) => storedVariablesOfRun(current, h.deps),
    stateMachines: { version: async () => `arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT}:stateMachine:m:1` },
  });
  await executor.start(run, plan);

  // The ARNs in the definitions are the parameters' own, as SSM names them.
  const arnOf = async (name: string) =>
    (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter!.ARN!;
  const npm = await arnOf(`/finale/variables/${repository}/repository/NPM_TOKEN`);
  const deploy = await arnOf(`/finale/variables/${repository}/deployment/production/DEPLOY_KEY`);
  expect(npm).toBe(
    `arn:aws:ssm:${MOTO_REGION}:${MOTO_ACCOUNT}:parameter/finale/variables/${repository}/repository/NPM_TOKEN`,
  );

  // Build and Test share a definition; Deploy, with the deployment's variable, has its own.
  expect(recorded).toHaveLength(2);
  const input = JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!);
  const definitions = input.env.taskDefinitions as Record<string, string>;
  expect(definitions.s0).toBe(definitions.s2);
  expect(definitions.s1).not.toBe(definitions.s0);

  const secretsOf = async (arn: string, container: string) =>
    (
      await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))
    ).taskDefinition!.containerDefinitions!.find((definition) => definition.name === container)!.secrets;
  // What moto's ECS registered, read back.
  expect(await secretsOf(definitions.s0!, 'step')).toEqual([{ name: 'NPM_TOKEN', valueFrom: npm }]);
  expect(await secretsOf(definitions.s1!, 'step')).toEqual([
    { name: 'DEPLOY_KEY', valueFrom: deploy },
    { name: 'NPM_TOKEN', valueFrom: npm },
  ]);
  expect(await secretsOf(definitions.s1!, 'agent')).toEqual([
    { name: 'FINALE_MASK_DEPLOY_KEY', valueFrom: deploy },
    { name: 'FINALE_MASK_NPM_TOKEN', valueFrom: npm },
  ]);
  expect(await secretsOf(definitions.s1!, 'prepare')).toBeUndefined();

  // No secured value in any request: not in the inputs, not on the wire, not in the execution input.
  const everything = JSON.stringify([
    recorded,
    sfnMock.commandCalls(StartExecutionCommand)[0]!.args[0].input,
  ]);
  for (const value of Object.values(SECRETS)) expect(everything).not.toContain(value);
  for (const { body } of recorded) expect(body).toContain('"valueFrom"');
  // Plain variables are for prepare's env file, not the definition.
  expect(everything).not.toContain('https://api.example');

  // A second start with equal variables registers nothing new.
  const again = await h.newRun(plan, { repository });
  await executor.start(again, plan);
  expect(recorded).toHaveLength(2);
  expect(
    JSON.parse(sfnMock.commandCalls(StartExecutionCommand)[1]!.args[0].input.input!).env.taskDefinitions,
  ).toEqual(definitions);
});
