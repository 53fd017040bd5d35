// A repository host, as the Lambdas and the step task's agent see it: read the pipeline file at a
// commit, find a branch's head, list the files a change touched, report a commit status, and say how
// to clone.

import { FinaleError } from '../vocabulary/errors';

export type HostKind = 'bitbucket-cloud' | 'bitbucket-data-center' | 'github';

/** Finale's commit states; each host maps them to its own words. */
export type CommitState = 'INPROGRESS' | 'SUCCESSFUL' | 'FAILED' | 'STOPPED';

export interface CommitStatus {
  /** Stable per pipeline, so a later status of the same pipeline replaces the earlier one. */
  readonly key: string;
  readonly name: string;
  readonly state: CommitState;
  readonly url: string;
  readonly description: string;
}

/** The build status body both Bitbucket flavours take (they differ only in their state words). */
export function bitbucketBuildStatus(status: CommitStatus, states: Record<CommitState, string>) {
  return {
    key: status.key,
    state: states[status.state],
    name: status.name,
    url: status.url,
    description: status.description.slice(0, 255),
  };
}

export interface CloneAccess {
  readonly url: string;
  /** HTTP headers git sends (`http.extraHeader`): credentials never go into the URL or the log. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface RepositoryHost {
  readonly kind: HostKind;
  /** The file's text at the commit, or undefined when the commit has no such file. */
  readFile(repository: string, commit: string, path: string): Promise<string | undefined>;
  /** The head commit of a branch (the default branch when none is named). */
  branchHead(
    repository: string,
    branch?: string,
  ): Promise<{ readonly branch: string; readonly commit: string }>;
  /**
   * The paths changed by `head` itself, against its first parent; or, with a `base` (a commit or a
   * branch), the paths changed on `head` since its merge base with `base` (the three-dot diff a pull
   * request shows). A rename counts both paths. Undefined when the list is too long to be complete
   * (`MAX_CHANGED_FILES` in `changes.ts`); throws a HostError when the host cannot answer.
   */
  changedFiles(repository: string, head: string, base?: string): Promise<readonly string[] | undefined>;
  reportStatus(repository: string, commit: string, status: CommitStatus): Promise<void>;
  cloneAccess(repository: string): CloneAccess;
}

/** The host answered something Finale cannot use (credentials, permissions, an outage). */
export class HostError extends FinaleError {
  readonly status: number;

  constructor(message: string, status: number) {
    super(message, { name: 'HostError' });
    this.status = status;
  }
}

/** `owner/name` (or `PROJECT/slug`): the two parts of a repository key. */
export function splitRepository(repository: string): { readonly owner: string; readonly name: string } {
  const slash = repository.indexOf('/');
  if (slash <= 0 || slash === repository.length - 1 || repository.indexOf('/', slash + 1) >= 0) {
    throw new FinaleError(`repository "${repository}" is not of the form OWNER/NAME`, {
      name: 'UsageError',
      exitCode: 2,
    });
  }
  return { owner: repository.slice(0, slash), name: repository.slice(slash + 1) };
}

/** A short, stable status key per pipeline (Bitbucket allows 40 characters). */
export function statusKey(pipeline: string): string {
  let hash = 0x811c9dc5;
  for (const char of pipeline) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193) >>> 0;
  return `finale-${hash.toString(16).padStart(8, '0')}`;
}
