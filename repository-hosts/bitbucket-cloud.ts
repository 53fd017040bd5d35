// Bitbucket Cloud's REST API 2.0: the file at a commit (`src`), branch heads (`refs/branches`),
// changed files (`diffstat`) and build statuses (`commit/{hash}/statuses/build`).

import { walkChangePages } from './changes';
import { bitbucketBuildStatus, type CommitState, type RepositoryHost, splitRepository } from './host';
import { basicAuthorization, httpClient } from './http';

export interface BitbucketCloudConfig {
  readonly kind: 'bitbucket-cloud';
  /** A repository/workspace access token (Bearer), or a user name and an app password/API token. */
  readonly token?: string;
  readonly username?: string;
  readonly password?: string;
  /** @default 'https://api.bitbucket.org/2.0' */
  readonly apiUrl?: string;
  /** Where repositories are cloned from. @default 'https://bitbucket.org' */
  readonly webUrl?: string;
}

const STATES: Record<CommitState, string> = {
  INPROGRESS: 'INPROGRESS',
  SUCCESSFUL: 'SUCCESSFUL',
  FAILED: 'FAILED',
  STOPPED: 'STOPPED',
};

export const segment = encodeURIComponent;
export const filePath = (path: string) => path.split('/').map(encodeURIComponent).join('/');

export function bitbucketCloud(config: BitbucketCloudConfig, fetchImpl?: typeof fetch): RepositoryHost {
  const api = (config.apiUrl ?? 'https://api.bitbucket.org/2.0').replace(/\/$/, '');
  const web = (config.webUrl ?? 'https://bitbucket.org').replace(/\/$/, '');
  const authorization = config.token
    ? `Bearer ${config.token}`
    : basicAuthorization(config.username ?? '', config.password ?? '');
  const http = httpClient('Bitbucket Cloud', authorization, fetchImpl);
  const repo = (repository: string) => {
    const { owner, name } = splitRepository(repository);
    return `${api}/repositories/${segment(owner)}/${segment(name)}`;
  };

  return {
    kind: 'bitbucket-cloud',
    async readFile(repository, commit, path) {
      const response = await http.request(
        'GET',
        `${repo(repository)}/src/${segment(commit)}/${filePath(path)}`,
        {
          accept: 'text/plain',
          missingOk: true,
        },
      );
      return response?.text();
    },
    async branchHead(repository, branch) {
      let name = branch;
      if (!name) {
        const info = (await (await http.request('GET', repo(repository)))!.json()) as {
          mainbranch?: { name?: string };
        };
        name = info.mainbranch?.name;
        if (!name) throw new Error(`Bitbucket Cloud names no main branch for ${repository}`);
      }
      const ref = (await (await http.request(
        'GET',
        `${repo(repository)}/refs/branches/${segment(name)}`,
      ))!.json()) as {
        target?: { hash?: string };
      };
      if (!ref.target?.hash)
        throw new Error(`Bitbucket Cloud gave no commit for branch ${name} of ${repository}`);
      return { branch: name, commit: ref.target.hash };
    },
    async changedFiles(repository, head, base) {
      // One commit: against its first parent. `head..base` with topic=true: head against its merge
      // base with base (Bitbucket's order is the opposite of git's).
      const first = base
        ? `${repo(repository)}/diffstat/${segment(head)}..${segment(base)}?topic=true`
        : `${repo(repository)}/diffstat/${segment(head)}`;
      return walkChangePages('Bitbucket Cloud', first, async (url) => {
        const page = (await (await http.request('GET', url))!.json()) as {
          values?: { old?: { path?: string } | null; new?: { path?: string } | null }[];
          next?: string;
        };
        return {
          paths: (page.values ?? []).flatMap((entry) => [entry.new?.path, entry.old?.path]),
          next: page.next,
        };
      });
    },
    async reportStatus(repository, commit, status) {
      await http.request('POST', `${repo(repository)}/commit/${segment(commit)}/statuses/build`, {
        body: bitbucketBuildStatus(status, STATES),
      });
    },
    cloneAccess(repository) {
      const { owner, name } = splitRepository(repository);
      return {
        url: `${web}/${owner}/${name}.git`,
        headers: {
          // Access tokens clone as the user x-token-auth (Bitbucket's documented form).
          authorization: config.token
            ? basicAuthorization('x-token-auth', config.token)
            : basicAuthorization(config.username ?? '', config.password ?? ''),
        },
      };
    },
  };
}
