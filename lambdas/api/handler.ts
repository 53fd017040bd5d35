// The API Lambda: the Hono app of api/app.ts behind API Gateway's IAM-authorized routes. The caller is
// the IAM principal API Gateway verified (payload 2.0 `requestContext.authorizer.iam.userArn`); runs
// started here read the pipeline file from the repository host at the branch's head.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { Context } from 'hono';
import { handle } from 'hono/aws-lambda';
import { type ApiDeps, createApi } from '../../api/app';
import { UnauthorizedError } from '../../api/errors';
import { parseArn } from '../../aws/arn';
import { cloudWatchLogReader } from '../../aws/logs';
import type { Core } from '../../core/index';
import type { RunStarter } from '../../core/ports';
import type { Executor } from '../../core/start';
import type { RepositoryHost } from '../../repository-hosts/host';
import { pickPipeline } from '../../statemachine/language/pick';
import { pipelineCompiler } from '../../statemachine/pipelines';
import type { Caller } from '../../vocabulary/contract';
import type { HttpApiEvent } from '../http';
import {
  awsClients,
  awsCore,
  awsExecutorFrom,
  awsSecrets,
  awsStore,
  EXECUTOR_CONFIG,
  hostFromSecret,
  logger,
  once,
  readConfig,
} from '../runtime';
import { startRun } from '../starts';

/** The IAM principal of a SigV4-signed request, as API Gateway's IAM authorizer established it. */
export function callerOf(c: Context): Caller {
  const event = (c.env as { event?: HttpApiEvent } | undefined)?.event;
  const user = event?.requestContext?.authorizer?.iam?.userArn;
  if (!user)
    throw new UnauthorizedError(
      'the request carries no IAM identity: sign it with SigV4 (the finale CLI does)',
    );
  return { user };
}

interface AwsRunStarterDeps {
  readonly core: Core;
  readonly executor: Executor;
  readonly host: () => Promise<RepositoryHost>;
  readonly region: string;
}

/** Custom and manual runs: the branch's head commit (the default branch when none is named). */
export function awsRunStarter(deps: AwsRunStarterDeps): RunStarter {
  return {
    async start(request) {
      const host = await deps.host();
      const head = await host.branchHead(request.repository, request.branch);
      const custom = request.pipeline?.startsWith('custom:');
      return startRun(
        {
          repository: request.repository,
          file: request.file,
          trigger: {
            kind: custom ? 'custom' : 'manual',
            ref: custom ? request.pipeline!.slice('custom:'.length) : head.branch,
            commit: head.commit,
            branch: head.branch,
          },
          choose: (file) =>
            pickPipeline(file, {
              ...(request.pipeline ? { key: request.pipeline } : {}),
              branch: head.branch,
              variables: request.variables,
            }),
          user: request.caller.user,
        },
        {
          core: deps.core,
          executor: deps.executor,
          host,
          region: deps.region,
          warn: (message, error) => logger.warn(message, { error }),
        },
      );
    },
  };
}

type LambdaHandler = ReturnType<typeof handle>;

export function createApiHandler(getDeps: () => ApiDeps): LambdaHandler {
  const lambda = once(() => handle(createApi(getDeps())));
  return (event, context) => lambda()(event, context);
}

const API_CONFIG = [...EXECUTOR_CONFIG] as const;

export const handler = createApiHandler(() => {
  const config = readConfig(API_CONFIG);
  const store = awsStore(config);
  const clients = awsClients();
  const logs = new CloudWatchLogsClient({});
  const core = awsCore(store, clients, config, {
    stepLogs: { client: logs, group: config.logGroup },
    pipelines: pipelineCompiler,
  });
  const secrets = awsSecrets();
  return {
    core,
    authenticate: callerOf,
    runs: awsRunStarter({
      core,
      executor: awsExecutorFrom(config, clients, store),
      host: hostFromSecret(secrets, config.hostTokenSecretArn),
      region: parseArn(config.controlFunctionArn).region,
    }),
    logs: cloudWatchLogReader(logs, config.logGroup),
  };
});
