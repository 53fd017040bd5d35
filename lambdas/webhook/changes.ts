// What a delivery tells of the files its trigger changed, beyond the trigger's commit: a GitHub push
// lists its head commit's files, and a pull request names its destination's commit (a branch name may
// be ambiguous in a host's URL). Read after `translate` accepted the payload, so a field that is
// missing or odd only means the host is asked instead.

import type { ChangeSource } from '../starts';
import type { WebhookSource } from './sources';
import type { Trigger } from './translate';

/** The API's page of a commit's files; GitHub documents no bound for a payload's lists. */
const TRUSTED_PAYLOAD_FILES = 300;

const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (found, key) =>
      typeof found === 'object' && found !== null ? (found as Record<string, unknown>)[key] : undefined,
    value,
  );
const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);
const texts = (value: unknown) =>
  Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined;

/**
 * The head commit's files as a GitHub push lists them (Bitbucket's rule for a push: its last commit).
 * Not trusted when empty (merge commits can come without lists) or long (a list may be cut short).
 */
function headCommitFiles(payload: unknown): readonly string[] | undefined {
  const lists = ['added', 'modified', 'removed'].map((key) => texts(at(payload, 'head_commit', key)));
  if (lists.some((list) => list === undefined)) return undefined;
  const files = [...new Set(lists.flat() as string[])];
  return files.length > 0 && files.length < TRUSTED_PAYLOAD_FILES ? files : undefined;
}

function destinationCommit(source: WebhookSource, payload: unknown): string | undefined {
  switch (source) {
    case 'bitbucket-cloud':
      return text(at(payload, 'pullrequest', 'destination', 'commit', 'hash'));
    case 'bitbucket-data-center':
      return text(at(payload, 'pullRequest', 'toRef', 'latestCommit'));
    case 'github':
      return text(at(payload, 'pull_request', 'base', 'sha'));
  }
}

/** The trigger's change source when the payload says more than its commit; else the default applies. */
export function payloadChanges(
  source: WebhookSource,
  payload: unknown,
  trigger: Trigger,
): ChangeSource | undefined {
  if (trigger.record.kind === 'pull-request') {
    const base = destinationCommit(source, payload);
    return base ? { head: trigger.record.commit, base } : undefined;
  }
  // A GitHub push carries one ref: its head commit is the commit this trigger builds (for an
  // annotated tag, the commit the tag object names).
  if (source === 'github') {
    const files = headCommitFiles(payload);
    return files ? { files } : undefined;
  }
  return undefined;
}
