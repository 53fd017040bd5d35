// A secured value through two step tasks, run as local processes with moto's KMS: the first step's
// agent masks it and reports the output variable that holds it as secured, which the core seals with
// KMS; the next step's prepare opens it into the env file, and its agent masks it too.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../aws/config';
import { planOfYaml } from '../statemachine/compiler/support';
import { MOTO_REGION, useMoto } from '../support/moto';
import { useStepTask } from './step-task';

const moto = useMoto();
let keyArn: string;
beforeAll(async () => {
  keyArn = (await new KMSClient(moto.clientConfig).send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
});

const PLAN = () =>
  planOfYaml(`pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "AUTH=Bearer $NPM_TOKEN" >> $BITBUCKET_PIPELINES_VARIABLES_PATH
          - echo VERSION=2.0 >> $BITBUCKET_PIPELINES_VARIABLES_PATH
          - echo "built with $NPM_TOKEN"
        output-variables:
          - AUTH
          - VERSION
    - step:
        name: Use
        script:
          - echo "auth is $AUTH, version $VERSION"
`);

const task = useStepTask(PLAN, {
  environment: () => ({
    AWS_REGION: MOTO_REGION,
    AWS_ENDPOINT_URL_KMS: moto.url,
    [LAMBDA_ENV.variablesKeyArn]: keyArn,
  }),
});

it('seals an output variable holding a secured value, and the next step gets it masked', async () => {
  const token = 'npm_9f8e7d6c5b4a3210';
  const run = await task.newRun();
  const build = await task.runStep(run, 0, 'build', {
    step: { NPM_TOKEN: token },
    agent: { FINALE_MASK_NPM_TOKEN: token },
  });
  const [buildAgent] = await Promise.all([build.agent.exited, build.container.exited]);
  expect(buildAgent.code, buildAgent.output).toBe(0);
  expect(buildAgent.output).toContain('built with $NPM_TOKEN');
  expect(buildAgent.output).not.toContain(token);

  const after = (await task.db.store.runs.get(run.runId))!;
  expect(after.outputs).toEqual({ VERSION: '2.0' });
  expect(Object.keys(after.securedOutputs ?? {})).toEqual(['AUTH']);
  expect(after.securedOutputs!.AUTH).toMatch(/^kms:v1:/);
  const items = await task.db.client.send(new ScanCommand({ TableName: task.db.tables.runs }));
  expect(JSON.stringify(items.Items)).not.toContain(token);

  // No secured variable in this step: only the output variable, which its agent opens to mask.
  const use = await task.runStep(run, 1, 'use');
  const env = await readFile(join(use.dirs.finale, 'env'), 'utf8');
  expect(env).toContain(`AUTH='Bearer ${token}'`);
  expect(env).toContain("VERSION='2.0'");
  const [useAgent, useContainer] = await Promise.all([use.agent.exited, use.container.exited]);
  expect(useAgent.code, useAgent.output).toBe(0);
  expect(useAgent.output).toContain('auth is $AUTH, version 2.0');
  expect(useAgent.output).not.toContain(token);
  expect(useContainer.output).toBe('');
});
