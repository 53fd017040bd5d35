// Cloning the run's commit into the workspace. Credentials travel as an http.extraHeader, so they
// are neither in the remote URL (.git/config) nor in the log.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { CloneAccess } from '../repository-hosts/host';

const run = promisify(execFile);

interface CloneRequest {
  readonly access: CloneAccess;
  readonly commit: string;
  readonly dir: string;
  /** @default 50 (Bitbucket's default); 'full' for the whole history. */
  readonly depth?: number | 'full';
  readonly lfs?: boolean;
  /** Checked out as a branch at the commit, as Bitbucket does for branch builds. */
  readonly branch?: string;
  readonly log: (line: string) => void;
}

export async function cloneCommit(request: CloneRequest): Promise<void> {
  const auth = Object.entries(request.access.headers).flatMap(([name, value]) => [
    '-c',
    `http.extraHeader=${name}: ${value}`,
  ]);
  const git = async (args: string[], withAuth = false) => {
    await run('git', [...(withAuth ? auth : []), '-C', request.dir, ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });
  };
  const depth = request.depth === 'full' ? [] : [`--depth=${request.depth ?? 50}`];
  request.log(`+ git clone ${request.access.url} at ${request.commit} (${depth[0] ?? 'full history'})`);
  await run('git', ['init', '-q', request.dir]);
  await git(['remote', 'add', 'origin', request.access.url]);
  try {
    await git(['fetch', '-q', '--no-tags', ...depth, 'origin', request.commit], true);
  } catch {
    // Hosts that refuse a fetch by commit id: fetch the branches and tags, then find the commit.
    await git(['fetch', '-q', '--tags', ...depth, 'origin', '+refs/heads/*:refs/remotes/origin/*'], true);
  }
  await git(['-c', 'advice.detachedHead=false', 'checkout', '-q', '--detach', request.commit]);
  if (request.branch) await git(['checkout', '-q', '-B', request.branch]);
  if (request.lfs) await git(['lfs', 'pull'], true);
}
