// Which pipeline a command means: a pipeline key given by the user (`default`, `branches:main`,
// `custom:deploy`), or, without one, whatever a push of the current branch would run.

import type { PipelineFile, Selection } from './model';
import { findPipeline, selectPipeline } from './select';

interface PickRequest {
  /** A pipeline key; for `custom:<name>` the variables apply. */
  readonly key?: string;
  /** The branch a push would come from, when no key is given; none (detached HEAD) means `default`. */
  readonly branch?: string;
  readonly variables?: Readonly<Record<string, string>>;
}

export function pickPipeline(file: PipelineFile, request: PickRequest): Selection {
  const { key } = request;
  if (key?.startsWith('custom:')) {
    return selectPipeline(file, {
      kind: 'custom',
      name: key.slice('custom:'.length),
      variables: request.variables ?? {},
    });
  }
  if (key !== undefined) {
    const pipeline = findPipeline(file, key);
    if (!pipeline) {
      const known = file.pipelines.map((p) => p.key).join(', ');
      return {
        pipeline: null,
        reason: `there is no pipeline \`${key}\` in ${file.path} (it has: ${known || 'none'})`,
      };
    }
    return { pipeline, variables: {}, reason: `it was asked for by name` };
  }
  if (request.branch) return selectPipeline(file, { kind: 'branch', branch: request.branch });
  const fallback = findPipeline(file, 'default');
  return fallback
    ? { pipeline: fallback, variables: {}, reason: 'HEAD is not on a branch, so the default pipeline runs' }
    : { pipeline: null, reason: 'HEAD is not on a branch and there is no default pipeline' };
}
