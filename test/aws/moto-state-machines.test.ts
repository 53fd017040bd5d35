// The state machines adapter against moto's Step Functions, which checks the requests' shapes (names,
// role ARN, publish and version descriptions) and, in its ASL-parsing backend, the definitions: the
// first run of a pipeline creates its state machine with a compiled plan's definition and publishes
// version 1; an equal definition comes from the cache, and creates nothing in a new Lambda container; a
// changed definition updates the machine and publishes a new version; another pipeline gets a machine
// of its own. moto has no revisionId and no PublishStateMachineVersion, so the reuse by revision is
// left to the aws-sdk-client-mock tests. moto's interpreter differs from Step Functions', so nothing
// is executed: only the API calls are checked.

import { DescribeStateMachineCommand, ListStateMachinesCommand, SFNClient } from '@aws-sdk/client-sfn';
import { beforeAll, expect, it } from 'vitest';
import { createStateMachines, stateMachineName } from '../../aws/state-machines';
import { planOfYaml } from '../statemachine/compiler/support';
import { MOTO_ACCOUNT, MOTO_REGION, useMoto } from '../support/moto';

const moto = useMoto();
let sfn: SFNClient;
beforeAll(async () => {
  sfn = new SFNClient(moto.clientConfig);
  // moto's other Step Functions backend, which parses every definition it is given with its ASL parser
  // (nothing is executed here).
  const configured = await fetch(`${moto.url}/moto-api/config`, {
    method: 'POST',
    body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
  });
  expect(configured.ok).toBe(true);
});

const settings = {
  prefix: 'finale',
  region: MOTO_REGION,
  account: MOTO_ACCOUNT,
  roleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/finale-states`,
};
const machines = (client = sfn) => createStateMachines(client, settings);

const YAML = (deploy: string) => `pipelines:
  branches:
    main:
      - step:
          name: Build
          script:
            - npm ci && npm test
          artifacts:
            - dist/**
      - parallel:
          - step:
              name: Lint
              script:
                - npm run lint
          - step:
              name: Audit
              script:
                - npm audit
      - step:
          name: Deploy
          deployment: production
          ${deploy}
          script:
            - ./deploy.sh
  custom:
    release:
      - step:
          name: Release
          script:
            - ./release.sh
`;

/** Counts the requests of each command that reach moto. */
function countCommands(client: SFNClient) {
  const counted: Record<string, number> = {};
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const name = context.commandName ?? 'unknown';
      counted[name] = (counted[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'countCommands' },
  );
  return counted;
}

it('creates, reuses and updates the versions of a compiled pipeline', async () => {
  const repository = 'acme/web-app';
  const plan = planOfYaml(YAML(''), 'branches:main');
  const changed = planOfYaml(YAML('trigger: manual'), 'branches:main');
  expect(JSON.stringify(changed.definition)).not.toBe(JSON.stringify(plan.definition));
  const name = stateMachineName('finale', repository, plan.pipeline);
  const machineArn = `arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT}:stateMachine:${name}`;
  const definitionOf = async (arn: string) =>
    (await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: arn }))).definition;

  const adapter = new SFNClient(moto.clientConfig);
  const counted = countCommands(adapter);
  const lambda = machines(adapter);
  const first = await lambda.version(repository, plan.pipeline, plan.definition);
  expect(first).toBe(`${machineArn}:1`);
  expect(counted).toEqual({ DescribeStateMachineCommand: 1, CreateStateMachineCommand: 1 });
  expect(await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: machineArn }))).toMatchObject({
    name,
    type: 'STANDARD',
    roleArn: settings.roleArn,
    definition: JSON.stringify(plan.definition),
  });
  expect(await definitionOf(first)).toBe(JSON.stringify(plan.definition));

  // The same container: from its cache, no request.
  expect(await lambda.version(repository, plan.pipeline, plan.definition)).toBe(first);
  expect(counted).toEqual({ DescribeStateMachineCommand: 1, CreateStateMachineCommand: 1 });

  // Another container, the same definition: nothing is created. Step Functions describes the machine
  // with its revisionId, which PublishStateMachineVersion turns into the existing version; moto
  // answers no revisionId (and has no PublishStateMachineVersion), so the adapter takes its fallback,
  // UpdateStateMachine with publish, and moto answers a new version of the same definition.
  const reused = await machines(adapter).version(repository, plan.pipeline, plan.definition);
  expect(counted.CreateStateMachineCommand).toBe(1);
  expect(counted.UpdateStateMachineCommand).toBe(1);
  expect(reused).toMatch(new RegExp(`^${machineArn}:\\d+$`));
  expect(await definitionOf(reused)).toBe(JSON.stringify(plan.definition));

  // A changed definition: the machine is updated and a new version published with it.
  const second = await machines(adapter).version(repository, changed.pipeline, changed.definition);
  expect(counted.CreateStateMachineCommand).toBe(1);
  expect(counted.UpdateStateMachineCommand).toBe(2);
  expect(second).toBe(`${machineArn}:${Number(reused.split(':').pop()) + 1}`);
  expect(await definitionOf(machineArn)).toBe(JSON.stringify(changed.definition));
  expect(await definitionOf(second)).toBe(JSON.stringify(changed.definition));
  // Versions are immutable: the first still has the first definition.
  expect(await definitionOf(first)).toBe(JSON.stringify(plan.definition));
});

it('gives each pipeline of a repository its own machine, with a name Step Functions accepts', async () => {
  const repository = 'acme/a-repository-with-a-rather-long-name-that-does-not-fit';
  const release = planOfYaml(YAML(''), 'custom:release');
  const main = planOfYaml(YAML(''), 'branches:main');
  const releaseVersion = await machines().version(repository, release.pipeline, release.definition);
  const mainVersion = await machines().version(repository, main.pipeline, main.definition);
  const releaseName = stateMachineName('finale', repository, release.pipeline);
  expect(releaseName.length).toBeLessThanOrEqual(80);
  expect(releaseVersion).toBe(`arn:aws:states:${MOTO_REGION}:${MOTO_ACCOUNT}:stateMachine:${releaseName}:1`);
  expect(mainVersion).toMatch(/:stateMachine:finale-acme-a-repository-[\w-]+:1$/);
  expect(mainVersion).not.toBe(releaseVersion);
  const listed = await sfn.send(new ListStateMachinesCommand({}));
  expect(listed.stateMachines?.map((machine) => machine.name)).toContain(releaseName);
});

it('passes on what Step Functions refuses, and caches no failure', async () => {
  // A definition moto's ASL parser refuses: what makes the compiled definitions' acceptance above
  // count. (moto answers its InvalidDefinition with a null __type, which the SDK cannot name: only
  // the status is checked.)
  const broken = { StartAt: 'Only', States: { Only: { Type: 'Teleport', End: true } } };
  const adapter = new SFNClient(moto.clientConfig);
  const counted = countCommands(adapter);
  const lambda = machines(adapter);
  const attempt = () => lambda.version('acme/broken', 'default', broken as never);
  await expect(attempt()).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  await expect(attempt()).rejects.toMatchObject({ $metadata: { httpStatusCode: 400 } });
  expect(counted.CreateStateMachineCommand).toBe(2);
  const valid = { StartAt: 'Only', States: { Only: { Type: 'Pass', End: true } } };
  expect(await lambda.version('acme/broken', 'default', valid as never)).toMatch(
    /:stateMachine:finale-acme-broken-default-\w+:1$/,
  );
});
