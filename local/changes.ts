// The files a local run changed, for `condition.changesets`: what the run's commit (the working tree
// snapshot, uncommitted changes included) changes since it left its branch's upstream — the local work
// not pushed yet, as a pull request of it would show it. Without an upstream the answer is unknown and
// every conditional step runs.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function git(root: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', args, { cwd: root, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * Paths (from the repository's top) changed between the merge base of `branch@{upstream}` and
 * `commit`, and by `commit` itself; undefined when the branch has no upstream (or no branch is checked
 * out, or the directory is no git repository) or git cannot tell.
 */
export async function changedSinceUpstream(
  root: string,
  commit: string,
  branch: string | undefined,
): Promise<readonly string[] | undefined> {
  if (!branch) return undefined;
  try {
    const upstream = (
      await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${branch}@{upstream}`])
    ).trim();
    // Three dots: what `commit` brings, not what the upstream gained since. No renames, so a moved
    // file counts at both paths; --no-relative against a `diff.relative` setting.
    const listed = await git(root, [
      'diff',
      '--name-only',
      '-z',
      '--no-renames',
      '--no-relative',
      '--no-ext-diff',
      `${upstream}...${commit}`,
      '--',
    ]);
    return listed.split('\0').filter((path) => path !== '');
  } catch {
    return undefined;
  }
}
