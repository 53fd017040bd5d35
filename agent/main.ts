// Finale's step-task program, bundled into Finale's agent image: `prepare` or `agent` (see those
// modules). Everything it needs comes from its environment: the task's overrides (run, step, plan),
// the table names, host secret, artifacts bucket and variables key the task definition sets, and the
// secured variables to mask (FINALE_MASK_*), which ECS sets from SSM in the agent container.

import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readConfig } from '../aws/config';
import { secretReader } from '../aws/secrets';
import { ssmVault } from '../aws/vault';
import { createPlanSource } from '../core/deps';
import { runOutputs } from '../core/repository-variables';
import { taskEnded } from '../core/task-hooks';
import { createHost, parseHostConfig } from '../repository-hosts/index';
import { TASK_CONTAINERS } from '../statemachine/compiler/plan';
import { createDocumentClient } from '../store/client';
import { createStore, systemClock } from '../store/store';
import supervisorText from '../supervisor/supervisor.sh';
import { runAgent } from './agent';
import { s3Artifacts } from './artifacts';
import { taskMetadataWatch } from './metadata';
import { takeMaskedVariables } from './output';
import { agentPaths } from './paths';
import { prepare } from './prepare';
import { taskIdentity } from './task';

const log = (line: string) => process.stderr.write(`${line}\n`);

async function main(mode: string | undefined): Promise<number> {
  if (mode !== 'prepare' && mode !== 'agent') {
    log('usage: finale-agent prepare|agent');
    return 2;
  }
  const config = readConfig([
    'tables',
    'hostTokenSecretArn',
    'artifactsBucket',
    'variablesKeyArn',
    'resourcePrefix',
  ]);
  // Before anything starts a child process that would inherit them.
  const masked = takeMaskedVariables();
  const store = createStore({ client: createDocumentClient(), tables: config.tables, clock: systemClock });
  // The task role may only seal and open output variables: the parameters are the execution role's.
  const vault = ssmVault({
    ssm: new SSMClient({}),
    kms: new KMSClient({}),
    keyArn: config.variablesKeyArn,
    prefix: config.resourcePrefix,
  });
  const paths = agentPaths();
  const task = taskIdentity();
  const artifacts = s3Artifacts(new S3Client({}), config.artifactsBucket, paths.dir);
  if (mode === 'prepare') {
    const secrets = secretReader(new SecretsManagerClient({}));
    await prepare({
      task,
      paths,
      store,
      vault,
      host: async () => createHost(parseHostConfig(await secrets.get(config.hostTokenSecretArn))),
      artifacts,
      supervisorText,
      log,
    });
    return 0;
  }
  const plans = createPlanSource(store);
  const metadata = process.env.ECS_CONTAINER_METADATA_URI_V4;
  if (!metadata)
    throw new Error(
      'ECS_CONTAINER_METADATA_URI_V4 is not set: the agent runs in a Fargate task (platform 1.4 or later)',
    );
  const agent = runAgent({
    task,
    paths,
    store,
    stepContainer: taskMetadataWatch(metadata, TASK_CONTAINERS.step),
    taskEnded: (runId, step, end) => taskEnded(runId, step, end, { store, plans, vault }),
    artifacts,
    log,
    output: process.stdout,
    secured: async () => {
      // A run that is not there has nothing sealed; the agent reports why the step could not start.
      const run = await store.runs.get(task.runId);
      return [...masked, ...(run ? (await runOutputs(run, { vault })).secured : [])];
    },
  });
  // The agent must outlive the step: SIGTERM is a stop request to pass on, never a reason to exit.
  process.on('SIGTERM', () => void agent.stop());
  process.on('SIGINT', () => void agent.stop());
  log(`finale: agent waiting for step ${task.step} of run ${task.runId}`);
  return agent.done;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (error: Error) => {
    log(`finale ${process.argv[2] ?? ''}: ${error.message}`);
    process.exit(process.argv[2] === 'agent' ? 242 : 1);
  },
);
