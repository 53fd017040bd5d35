// GitHub's REST API: contents at a ref (raw), branches, changed files (a commit, or a compare) and
// commit statuses.

import { filePath, segment } from './bitbucket-cloud';
import { walkChangePages } from './changes';
import { type CommitState, type RepositoryHost, splitRepository } from './host';
import { basicAuthorization, httpClient } from './http';

export interface GitHubConfig {
  readonly kind: 'github';
  /** A fine-grained or classic token, or an installation token: contents read, statuses write. */
  readonly token: string;
  /** @default 'https://api.github.com' (GitHub Enterprise Server: https://HOST/api/v3) */
  readonly apiUrl?: string;
  /** Where repositories are cloned from. @default 'https://github.com' */
  readonly webUrl?: string;
}

// GitHub's statuses have no "stopped": `error` keeps a stopped run apart from a failed one.
const STATES: Record<CommitState, string> = {
  INPROGRESS: 'pending',
  SUCCESSFUL: 'success',
  FAILED: 'failure',
  STOPPED: 'error',
};

/** The most files GitHub lists for a comparison. */
const COMPARE_FILES = 300;

/** The `rel="next"` URL of a Link header. */
function nextLink(response: Response): string | undefined {
  for (const part of (response.headers.get('link') ?? '').split(',')) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (match) return match[1];
  }
  return undefined;
}

export function github(config: GitHubConfig, fetchImpl?: typeof fetch): RepositoryHost {
  const api = (config.apiUrl ?? 'https://api.github.com').replace(/\/$/, '');
  const web = (config.webUrl ?? 'https://github.com').replace(/\/$/, '');
  const http = httpClient('GitHub', `Bearer ${config.token}`, fetchImpl);
  const repo = (repository: string) => {
    const { owner, name } = splitRepository(repository);
    return `${api}/repos/${segment(owner)}/${segment(name)}`;
  };

  return {
    kind: 'github',
    async readFile(repository, commit, path) {
      const response = await http.request(
        'GET',
        `${repo(repository)}/contents/${filePath(path)}?ref=${segment(commit)}`,
        {
          accept: 'application/vnd.github.raw+json',
          missingOk: true,
        },
      );
      return response?.text();
    },
    async branchHead(repository, branch) {
      let name = branch;
      if (!name) {
        const info = (await (await http.request('GET', repo(repository)))!.json()) as {
          default_branch?: string;
        };
        name = info.default_branch;
        if (!name) throw new Error(`GitHub names no default branch for ${repository}`);
      }
      const found = (await (await http.request(
        'GET',
        `${repo(repository)}/branches/${segment(name)}`,
      ))!.json()) as {
        commit?: { sha?: string };
      };
      if (!found.commit?.sha) throw new Error(`GitHub gave no commit for branch ${name} of ${repository}`);
      return { branch: name, commit: found.commit.sha };
    },
    async changedFiles(repository, head, base) {
      type Files = { files?: { filename?: string; previous_filename?: string }[] };
      const paths = (body: Files) =>
        (body.files ?? []).flatMap((file) => [file.filename, file.previous_filename]);
      if (base) {
        // A comparison lists its files on its first page only, at most 300 of them: paging it pages
        // its commits. A full list may be cut short.
        const body = (await (await http.request(
          'GET',
          `${repo(repository)}/compare/${segment(base)}...${segment(head)}`,
        ))!.json()) as Files;
        if ((body.files?.length ?? 0) >= COMPARE_FILES) return undefined;
        return [...new Set(paths(body).filter((path): path is string => Boolean(path)))];
      }
      // A commit lists its files 300 a page, up to 3000, the next page named in the Link header.
      return walkChangePages('GitHub', `${repo(repository)}/commits/${segment(head)}`, async (url) => {
        const response = (await http.request('GET', url))!;
        return { paths: paths((await response.json()) as Files), next: nextLink(response) };
      });
    },
    async reportStatus(repository, commit, status) {
      await http.request('POST', `${repo(repository)}/statuses/${segment(commit)}`, {
        body: {
          state: STATES[status.state],
          target_url: status.url,
          description: status.description.slice(0, 140),
          context: status.name,
        },
      });
    },
    cloneAccess(repository) {
      const { owner, name } = splitRepository(repository);
      return {
        url: `${web}/${owner}/${name}.git`,
        headers: { authorization: basicAuthorization('x-access-token', config.token) },
      };
    },
  };
}
