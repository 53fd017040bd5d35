// The webhook Lambda (an HTTP API route without gateway auth): verify the signature over the raw body,
// dedupe the delivery, translate the payload into triggers, and start the runs each trigger selects
// (the pipeline its selectors choose, and the custom pipelines the file's `triggers` add). Every
// answer says why; nothing starts unless the signature is right and the delivery is new.

import { createHash } from 'node:crypto';
import { parseArn } from '../../aws/arn';
import type { Core } from '../../core/index';
import type { Executor } from '../../core/start';
import type { RepositoryHost } from '../../repository-hosts/host';
import type { PipelineFile } from '../../statemachine/language/model';
import { parsePipelineFile } from '../../statemachine/language/parse';
import { selectPipeline, triggeredPipelines } from '../../statemachine/language/select';
import { pipelineCompiler } from '../../statemachine/pipelines';
import { FinaleError } from '../../vocabulary/errors';
import { type HttpApiEvent, type HttpApiResult, json, rawBody } from '../http';
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
import { PIPELINE_FILE, startRun } from '../starts';
import { payloadChanges } from './changes';
import { verifySignature } from './signature';
import { deliveryOf, SOURCE_NAMES } from './sources';
import { MalformedPayload, type Skipped, type Trigger, translate } from './translate';

/** Bitbucket sends at most 256 KB, GitHub's pushes are far below this: anything bigger is not a webhook. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How long a delivery id is remembered: replays within it are refused. */
const DELIVERY_TTL_SECONDS = 30 * 24 * 3600;
/**
 * How long a change (repository, event, ref, commit) is remembered apart from the delivery that
 * carried it. The signature covers the body, not the delivery id header: a captured body replayed
 * under a new id carries the same change and starts nothing within this window. It also covers the
 * host's retries of a delivery that failed midway. A branch deleted and pushed again at the same
 * commit within it starts nothing either (start such a run with `finale run` or the API).
 */
export const CHANGE_WINDOW_SECONDS = 24 * 3600;
/** Runs one delivery may start; the rest are skipped with a reason (the answer must come within 30 s). */
const MAX_RUNS_PER_DELIVERY = 10;

interface WebhookDeps {
  readonly core: Core;
  readonly executor: Executor;
  readonly host: () => Promise<RepositoryHost>;
  readonly secret: () => Promise<string>;
  readonly region: string;
  readonly log: Pick<typeof logger, 'info' | 'warn' | 'error'>;
}

interface StartedSummary {
  readonly runId: string;
  readonly buildNumber: number;
  readonly pipeline: string;
  readonly ref: string;
  readonly commit: string;
}

export function createWebhookHandler(getDeps: () => WebhookDeps | Promise<WebhookDeps>) {
  return async function webhook(event: HttpApiEvent): Promise<HttpApiResult> {
    try {
      return await receive(event, await getDeps());
    } catch (error) {
      // The host retries a failed delivery; its id is already recorded, so the retry answers 202.
      logger.error('webhook failed', { error });
      return json(500, { error: `Finale could not handle the delivery: ${(error as Error).message}` });
    }
  };
}

async function receive(event: HttpApiEvent, deps: WebhookDeps): Promise<HttpApiResult> {
  const body = rawBody(event);
  if (body.length > MAX_BODY_BYTES) {
    return json(413, {
      error: `the body is ${body.length} bytes; a webhook delivery is at most ${MAX_BODY_BYTES}`,
    });
  }
  const delivery = deliveryOf(event);
  if (!delivery) {
    return json(400, {
      error: 'not a webhook delivery: expected X-Event-Key (Bitbucket) or X-GitHub-Event (GitHub)',
    });
  }
  if (!verifySignature(body, delivery.signature, await deps.secret())) {
    deps.log.warn('webhook signature rejected', { source: delivery.source, event: delivery.event });
    const header = delivery.source === 'github' ? 'X-Hub-Signature-256' : 'X-Hub-Signature';
    return json(401, {
      error: delivery.signature
        ? `the ${header} signature does not match this body and Finale's webhook secret`
        : `the delivery is not signed: set the webhook's secret so that ${SOURCE_NAMES[delivery.source]} sends ${header}`,
    });
  }
  if (!delivery.deliveryId) return json(400, { error: 'the delivery has no delivery id header' });

  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return json(400, { error: 'the body is not JSON' });
  }
  let translation: ReturnType<typeof translate>;
  try {
    translation = translate(delivery.source, delivery.event, payload);
  } catch (error) {
    if (error instanceof MalformedPayload) return json(400, { error: error.message });
    throw error;
  }
  const seenKey = `${delivery.source}:${delivery.deliveryId}`;
  const fresh = await deps.core.markDeliverySeen(seenKey, DELIVERY_TTL_SECONDS);
  if (!fresh)
    return json(202, { started: [], reason: `delivery ${delivery.deliveryId} was already received` });
  try {
    return await handle(delivery, translation, payload, deps);
  } catch (error) {
    // Nothing is lost: the host's redelivery is handled again, and each of its runs that did start
    // is recognised by its own key and not started twice.
    await deps.core.forgetDelivery(seenKey).catch((forgetting) => {
      // The delivery then stays seen and its redelivery is refused: say so, with the first error.
      deps.log.error('could not forget a delivery whose handling failed', { seenKey, error: forgetting });
    });
    throw error;
  }
}

async function handle(
  delivery: NonNullable<ReturnType<typeof deliveryOf>>,
  translation: ReturnType<typeof translate>,
  payload: unknown,
  deps: WebhookDeps,
): Promise<HttpApiResult> {
  if (translation.kind === 'ignored') return json(202, { started: [], reason: translation.reason });

  const host = await deps.host();
  if (host.kind !== delivery.source) {
    return json(202, {
      started: [],
      reason: `this Finale serves ${SOURCE_NAMES[host.kind]} repositories, not ${SOURCE_NAMES[delivery.source]}`,
    });
  }
  const started: StartedSummary[] = [];
  const skipped: Skipped[] = [...translation.skipped];
  const starts = {
    ...deps,
    host,
    warn: (message: string, error: unknown) => deps.log.warn(message, { error }),
  };
  let attempted = 0;
  for (const trigger of translation.triggers) {
    const ref = trigger.record.ref;
    // The file is read once per trigger: its selectors choose one pipeline, its `triggers` may add more.
    const text = await host.readFile(translation.repository, trigger.record.commit, PIPELINE_FILE);
    const read = text === undefined ? undefined : parsePipelineFile(text, PIPELINE_FILE);
    const triggered = read?.ok ? triggeredPipelines(read.file, trigger.event) : [];
    const change = changeKey(delivery.source, translation.repository, trigger);
    const choices = [
      { key: change, choose: (file: PipelineFile) => selectPipeline(file, trigger.event) },
      ...triggered.map((selection, j) => ({
        key: `${change}#${selection.pipeline?.key ?? j}`,
        choose: (file: PipelineFile) => triggeredPipelines(file, trigger.event)[j] ?? selection,
      })),
    ];
    for (const { key: runKey, choose } of choices) {
      if (attempted++ >= MAX_RUNS_PER_DELIVERY) {
        skipped.push({ ref, reason: `one delivery starts at most ${MAX_RUNS_PER_DELIVERY} runs` });
        continue;
      }
      if (!(await deps.core.markDeliverySeen(runKey, CHANGE_WINDOW_SECONDS))) {
        skipped.push({
          ref,
          reason: `this change (${trigger.record.kind} ${ref} at ${trigger.record.commit.slice(0, 12)}) was received in the last ${CHANGE_WINDOW_SECONDS / 3600} hours already (an earlier attempt of this delivery, or a replay)`,
        });
        continue;
      }
      try {
        const changes = payloadChanges(delivery.source, payload, trigger);
        const { run } = await startRun(
          {
            repository: translation.repository,
            trigger: trigger.record,
            choose,
            user: translation.actor,
            ...(text !== undefined && { text }),
            ...(changes ? { changes } : {}),
          },
          starts,
        );
        started.push({
          runId: run.runId,
          buildNumber: run.buildNumber,
          pipeline: run.pipeline,
          ref,
          commit: run.trigger.commit,
        });
        deps.log.info('run started', {
          runId: run.runId,
          repository: run.repository,
          pipeline: run.pipeline,
          ref,
        });
      } catch (error) {
        // The user's mistakes (no pipeline, an invalid file) are answers; anything else is Finale's failure.
        if (!(error instanceof FinaleError) || !['NoPipeline', 'InvalidPipeline'].includes(error.name)) {
          await deps.core.forgetDelivery(runKey).catch((forgetting) => {
            deps.log.error('could not forget a run key whose start failed', { runKey, error: forgetting });
          });
          throw error;
        }
        skipped.push({ ref, reason: error.message });
      }
    }
  }
  if (started.length === 0) {
    return json(202, {
      started,
      skipped,
      reason: skipped.length
        ? skipped.map((skip) => `${skip.ref}: ${skip.reason}`).join('; ')
        : 'the delivery carries no change',
    });
  }
  return json(201, { started, skipped });
}

/** The key of one change a delivery carries: what a replay under another delivery id has too. */
export function changeKey(source: string, repository: string, trigger: Trigger): string {
  const { record, event } = trigger;
  const action = event.kind === 'pull-request' ? (event.action ?? 'created') : '';
  const what = [
    source,
    repository,
    record.kind,
    record.ref,
    record.commit,
    record.pullRequestId ?? '',
    action,
  ];
  return `change:${createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 32)}`;
}

const WEBHOOK_CONFIG = [...EXECUTOR_CONFIG, 'webhookSecretArn'] as const;

export const handler = createWebhookHandler(
  once(() => {
    const config = readConfig(WEBHOOK_CONFIG);
    const store = awsStore(config);
    const secrets = awsSecrets();
    const clients = awsClients();
    return {
      core: awsCore(store, clients, config, { pipelines: pipelineCompiler }),
      executor: awsExecutorFrom(config, clients, store),
      host: hostFromSecret(secrets, config.hostTokenSecretArn),
      secret: () => secrets.get(config.webhookSecretArn),
      region: parseArn(config.controlFunctionArn).region,
      log: logger,
    };
  }),
);
