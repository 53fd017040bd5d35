// Test helper: moto's server (`moto_server`, an optional tool: test/support/tools.ts) standing in for
// the AWS services Finale's adapters call — SSM, KMS, ECS, DynamoDB, Step Functions, Secrets
// Manager, S3, CloudWatch Logs — on a random port, one per test file, so files run in parallel without sharing state. Only files named moto-*.test.ts
// use it, which npm test leaves out where moto is not installed.
//
//   const moto = useMoto();                       // registers beforeAll/afterAll
//   new SSMClient(moto.clientConfig)              // inside tests and hooks

import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll } from 'vitest';
import type { TaskDefinitionSettings } from '../../aws/task-definitions';
import { prefixedTableNames } from '../../store/client';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export const MOTO_REGION = 'eu-west-1';
/** The account moto answers as. */
export const MOTO_ACCOUNT = '123456789012';

export interface Moto {
  readonly url: string;
  /** What an SDK client needs to talk to it. */
  readonly clientConfig: {
    readonly region: string;
    readonly endpoint: string;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  close(): Promise<void>;
}

export async function startMoto(): Promise<Moto> {
  const child: ChildProcess = spawn('moto_server', ['-H', '127.0.0.1', '-p', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`moto_server did not start:\n${output}`)), 30_000);
    const listen = (chunk: Buffer) => {
      output += chunk.toString();
      const found = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout!.on('data', listen);
    child.stderr!.on('data', listen);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`moto_server exited (${code}):\n${output}`));
    });
  });
  // It logs every request: drained, so a full pipe never stalls it.
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    url,
    clientConfig: {
      region: MOTO_REGION,
      endpoint: url,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Starts one moto server for the calling test file; its fields are valid inside tests and hooks. */
export function useMoto(): Moto {
  let current: Moto | undefined;
  beforeAll(async () => {
    current = await startMoto();
  });
  afterAll(async () => {
    await current?.close();
  });
  const need = (): Moto => {
    if (!current) throw new Error('useMoto(): only available inside tests and hooks');
    return current;
  };
  return {
    get url() {
      return need().url;
    },
    get clientConfig() {
      return need().clientConfig;
    },
    close: () => need().close(),
  };
}

/** Task definition settings of a deployment in moto's account and region; `given` replaces any. */
export function motoTaskDefinitionSettings(
  given: Partial<TaskDefinitionSettings> = {},
): TaskDefinitionSettings {
  return {
    prefix: 'finale',
    partition: 'aws',
    region: MOTO_REGION,
    account: MOTO_ACCOUNT,
    agentImage: `${MOTO_ACCOUNT}.dkr.ecr.${MOTO_REGION}.amazonaws.com/finale-agent:1`,
    taskRoleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/task`,
    executionRoleArn: `arn:aws:iam::${MOTO_ACCOUNT}:role/execution`,
    logGroup: '/finale/steps',
    tables: prefixedTableNames('finale-'),
    hostTokenSecretArn: `arn:aws:secretsmanager:${MOTO_REGION}:${MOTO_ACCOUNT}:secret:host`,
    artifactsBucket: 'finale-artifacts',
    variablesKeyArn: `arn:aws:kms:${MOTO_REGION}:${MOTO_ACCOUNT}:key/0000`,
    ...given,
  };
}
