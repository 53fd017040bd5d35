// Bitbucket's default variables for a step, computed once for both engines: the local process runner
// sets them itself, and on AWS the step task's agent does.

import { createHash } from 'node:crypto';
import type { StepSpec } from '../statemachine/compiler/plan';
import type { RunRecord } from '../store/records';

export interface RepositoryIdentity {
  readonly workspace: string;
  readonly slug: string;
  readonly uuid: string;
}

/** A stable UUID in Bitbucket's braces, derived from a name (Bitbucket's own ids are opaque too). */
export function braceUuid(...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('/')).digest('hex');
  return `{${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}}`;
}

/**
 * Finale's own variables for a step that runs under a lock: the lock's fencing token, which grows
 * with every acquisition — a tool can store it with its writes and refuse writes from a smaller one,
 * so that a holder whose lock was force-unlocked or whose lease ran out cannot overwrite its successor.
 */
const FENCE_VARIABLES = {
  deployment: 'FINALE_DEPLOYMENT_FENCE',
  concurrency: 'FINALE_CONCURRENCY_FENCE',
} as const;

function fenceVariables(
  run: Pick<RunRecord, 'locks'>,
  spec: Pick<StepSpec, 'locks'>,
): Record<string, string> {
  const variables: Record<string, string> = {};
  for (const key of spec.locks) {
    const held = run.locks[key];
    const kind = key.slice(0, key.indexOf(':')) as keyof typeof FENCE_VARIABLES;
    if (held && FENCE_VARIABLES[kind]) variables[FENCE_VARIABLES[kind]] = String(held.fence);
  }
  return variables;
}

export function bitbucketVariables(input: {
  readonly run: Pick<RunRecord, 'runId' | 'buildNumber' | 'trigger' | 'variables' | 'outputs' | 'locks'>;
  readonly spec: Pick<StepSpec, 'index' | 'environment' | 'locks'>;
  readonly repository: RepositoryIdentity;
  readonly cloneDir: string;
}): Record<string, string> {
  const { run, spec, repository, cloneDir } = input;
  const { trigger } = run;
  const variables: Record<string, string> = {
    // Custom pipeline variables, then output variables of earlier steps; Bitbucket's own names win.
    ...run.variables,
    ...run.outputs,
    CI: 'true',
    BITBUCKET_BUILD_NUMBER: String(run.buildNumber),
    BITBUCKET_COMMIT: trigger.commit,
    BITBUCKET_CLONE_DIR: cloneDir,
    BITBUCKET_WORKSPACE: repository.workspace,
    BITBUCKET_REPO_SLUG: repository.slug,
    BITBUCKET_REPO_FULL_NAME: `${repository.workspace}/${repository.slug}`,
    BITBUCKET_REPO_OWNER: repository.workspace,
    BITBUCKET_REPO_UUID: repository.uuid,
    BITBUCKET_PIPELINE_UUID: braceUuid('pipeline', run.runId),
    BITBUCKET_STEP_UUID: braceUuid('step', run.runId, spec.index),
    ...spec.environment,
    ...fenceVariables(run, spec),
  };
  const branch = trigger.kind === 'branch' || trigger.kind === 'pull-request' ? trigger.ref : trigger.branch;
  if (branch) variables.BITBUCKET_BRANCH = branch;
  if (trigger.kind === 'tag') variables.BITBUCKET_TAG = trigger.ref;
  if (trigger.kind === 'bookmark') variables.BITBUCKET_BOOKMARK = trigger.ref;
  if (trigger.kind === 'pull-request') {
    if (trigger.pullRequestId) variables.BITBUCKET_PR_ID = trigger.pullRequestId;
    if (trigger.destination) variables.BITBUCKET_PR_DESTINATION_BRANCH = trigger.destination;
  }
  return variables;
}
