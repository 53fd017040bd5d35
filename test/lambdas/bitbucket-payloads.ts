// Bitbucket Cloud webhook payloads written for these tests, in the shape Atlassian documents
// ("Event payloads": repo:push, pullrequest:created/updated), with the fields Finale reads and a few
// it does not. The real payloads collected in ../shared/corpus/webhooks are tested by
// test/corpus/webhooks.test.ts; these keep `npm test` self-contained.

const user = (nickname: string, displayName: string) => ({
  type: 'user',
  nickname,
  display_name: displayName,
  uuid: `{${nickname}-0000-4000-8000-000000000000}`,
  links: { html: { href: `https://bitbucket.org/${nickname}/` } },
});

const repository = (fullName: string) => ({
  type: 'repository',
  full_name: fullName,
  name: fullName.split('/')[1],
  uuid: `{${fullName.replace('/', '-')}-0000-4000-8000-000000000000}`,
  is_private: true,
  links: { html: { href: `https://bitbucket.org/${fullName}` } },
});

const commit = (hash: string, message: string) => ({
  type: 'commit',
  hash,
  message,
  date: '2026-11-01T10:00:00+00:00',
  author: { type: 'author', raw: 'Emma <emma@example.com>' },
});

export const PUSH_COMMIT = '709d658dc5b6d6afcd46049c2f332ee3f515a67d';

/** A push of one commit to `name-of-branch` of team_name/repo_name, by emmap1. */
export const CLOUD_PUSH = JSON.stringify({
  actor: user('emmap1', 'Emma'),
  repository: repository('team_name/repo_name'),
  push: {
    changes: [
      {
        new: { type: 'branch', name: 'name-of-branch', target: commit(PUSH_COMMIT, 'new commit message\n') },
        old: {
          type: 'branch',
          name: 'name-of-branch',
          target: commit('1e65c05c1d5171631d92438a13901ca7dae9618c', 'old commit message\n'),
        },
        created: false,
        forced: false,
        closed: false,
        truncated: false,
        commits: [commit(PUSH_COMMIT, 'new commit message\n')],
      },
    ],
  },
});

const pullRequest = (fullName: string, id: number, source: string, hash: string, destination: string) => ({
  actor: user('brydzewski', 'Brad'),
  repository: repository(fullName),
  pullrequest: {
    type: 'pullrequest',
    id,
    title: `Merge ${source}`,
    state: 'OPEN',
    author: user('brydzewski', 'Brad'),
    source: { branch: { name: source }, commit: { hash }, repository: repository(fullName) },
    destination: {
      branch: { name: destination },
      commit: { hash: 'ce5965ddd289' },
      repository: repository(fullName),
    },
    created_on: '2026-11-01T10:00:00+00:00',
  },
});

/** A pull request from a branch with a slash in its name: brydzewski/foo feature/develop → master. */
export const CLOUD_PULL_REQUEST_SLASH = JSON.stringify(
  pullRequest('brydzewski/foo', 1, 'feature/develop', '507a576e59b3', 'master'),
);

/** A pull request branch2 → master of team_name/repo_name. */
export const CLOUD_PULL_REQUEST = JSON.stringify(
  pullRequest('team_name/repo_name', 1, 'branch2', 'd3022fc0ca3d', 'master'),
);
