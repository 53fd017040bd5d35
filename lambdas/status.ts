// Commit statuses of runs: where they point and how they are reported (best effort: a host that is
// down must not fail a webhook or an event).

import { executionConsoleUrl } from '../aws/arn';
import type { CommitState, RepositoryHost } from '../repository-hosts/host';
import { statusKey } from '../repository-hosts/host';
import type { RunRecord } from '../store/records';

interface StatusDeps {
  readonly host: RepositoryHost;
  /** For the link when the run has no execution (yet). */
  readonly region: string;
  readonly warn: (message: string, error: unknown) => void;
}

/** Where a commit status points: the execution in the Step Functions console. */
function statusUrl(run: Pick<RunRecord, 'engine'> | undefined, region: string): string {
  if (run?.engine?.execution) return executionConsoleUrl(run.engine.execution);
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/statemachines`;
}

export async function reportStatus(
  deps: StatusDeps,
  target: {
    readonly repository: string;
    readonly commit: string;
    readonly pipeline: string;
    readonly run?: RunRecord;
  },
  state: CommitState,
  description: string,
): Promise<void> {
  try {
    await deps.host.reportStatus(target.repository, target.commit, {
      key: statusKey(target.pipeline),
      name: `Finale ${target.pipeline}`,
      state,
      url: statusUrl(target.run, deps.region),
      description,
    });
  } catch (error) {
    deps.warn(`could not report ${state} for ${target.repository}@${target.commit}`, error);
  }
}
