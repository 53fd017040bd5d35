// Bitbucket Data Center (Server): REST API 1.0 (`/rest/api/latest`). Repositories are PROJECT/slug.

import { filePath, segment } from './bitbucket-cloud';
import { walkChangePages } from './changes';
import { bitbucketBuildStatus, type CommitState, type RepositoryHost, splitRepository } from './host';
import { basicAuthorization, httpClient } from './http';

export interface BitbucketDataCenterConfig {
  readonly kind: 'bitbucket-data-center';
  /** e.g. https://bitbucket.example.com (also where repositories are cloned from, under /scm). */
  readonly baseUrl: string;
  /** An HTTP access token (Bearer), or a user name and password. */
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  /** Where repositories are cloned from. @default `${baseUrl}/scm` */
  readonly cloneUrl?: string;
}

// Data Center has no STOPPED build state; CANCELLED is its word for it.
const STATES: Record<CommitState, string> = {
  INPROGRESS: 'INPROGRESS',
  SUCCESSFUL: 'SUCCESSFUL',
  FAILED: 'FAILED',
  STOPPED: 'CANCELLED',
};

/** Data Center's default ceiling for a page of changes. */
const PAGE_LIMIT = 1000;

export function bitbucketDataCenter(
  config: BitbucketDataCenterConfig,
  fetchImpl?: typeof fetch,
): RepositoryHost {
  const base = config.baseUrl.replace(/\/$/, '');
  const authorization = config.token
    ? `Bearer ${config.token}`
    : basicAuthorization(config.username ?? '', config.password ?? '');
  const http = httpClient('Bitbucket Data Center', authorization, fetchImpl);
  const repo = (repository: string) => {
    const { owner, name } = splitRepository(repository);
    return `${base}/rest/api/latest/projects/${segment(owner)}/repos/${segment(name)}`;
  };

  return {
    kind: 'bitbucket-data-center',
    async readFile(repository, commit, path) {
      const response = await http.request(
        'GET',
        `${repo(repository)}/raw/${filePath(path)}?at=${segment(commit)}`,
        {
          accept: 'text/plain',
          missingOk: true,
        },
      );
      return response?.text();
    },
    async branchHead(repository, branch) {
      if (!branch) {
        const found = (await (await http.request('GET', `${repo(repository)}/branches/default`))!.json()) as {
          displayId?: string;
          latestCommit?: string;
        };
        if (!found.displayId || !found.latestCommit)
          throw new Error(`Bitbucket Data Center names no default branch for ${repository}`);
        return { branch: found.displayId, commit: found.latestCommit };
      }
      const page = (await (await http.request(
        'GET',
        `${repo(repository)}/branches?filterText=${segment(branch)}&limit=100`,
      ))!.json()) as { values?: { displayId?: string; latestCommit?: string }[] };
      const found = page.values?.find((value) => value.displayId === branch);
      if (!found?.latestCommit) throw new Error(`${repository} has no branch ${branch}`);
      return { branch, commit: found.latestCommit };
    },
    async changedFiles(repository, head, base) {
      // A commit's changes are against its first parent; compare/changes lists what `from` has that
      // `to` has not, as a pull request from `from` into `to` shows it.
      const first = base
        ? `${repo(repository)}/compare/changes?from=${segment(head)}&to=${segment(base)}&limit=${PAGE_LIMIT}`
        : `${repo(repository)}/commits/${segment(head)}/changes?limit=${PAGE_LIMIT}`;
      return walkChangePages('Bitbucket Data Center', first, async (url) => {
        const page = (await (await http.request('GET', url))!.json()) as {
          values?: { path?: { toString?: string }; srcPath?: { toString?: string } }[];
          isLastPage?: boolean;
          nextPageStart?: number;
        };
        return {
          paths: (page.values ?? []).flatMap((change) => [change.path?.toString, change.srcPath?.toString]),
          next:
            page.isLastPage === false && typeof page.nextPageStart === 'number'
              ? `${first}&start=${page.nextPageStart}`
              : undefined,
        };
      });
    },
    async reportStatus(repository, commit, status) {
      await http.request('POST', `${repo(repository)}/commits/${segment(commit)}/builds`, {
        body: bitbucketBuildStatus(status, STATES),
      });
    },
    cloneAccess(repository) {
      const { owner, name } = splitRepository(repository);
      const clone = (config.cloneUrl ?? `${base}/scm`).replace(/\/$/, '');
      return { url: `${clone}/${owner.toLowerCase()}/${name}.git`, headers: { authorization } };
    },
  };
}
