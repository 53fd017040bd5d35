// Step workspaces: a faithful copy of the run's checkout, plus the artifacts of earlier steps.

import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finalePaths } from '../../local/paths';
import { collectArtifacts, copyTree, prepareWorkspace } from '../../local/workspace';
import type { StepSpec } from '../../statemachine/compiler/plan';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'finale-tree-'));
  mkdirSync(join(root, 'src/deep/er'), { recursive: true });
  writeFileSync(join(root, 'README'), 'read me');
  writeFileSync(join(root, 'src/deep/er/data.bin'), Buffer.from([0, 1, 2, 255]));
  writeFileSync(join(root, 'build.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  symlinkSync('src/deep', join(root, 'link'));
  return root;
}

const spec = (index: number, artifacts: StepSpec['artifacts'], clone = true) =>
  ({ index, clone: { enabled: clone, lfs: false }, artifacts }) as unknown as StepSpec;

describe('workspaces', () => {
  it('copies a tree exactly: contents, nested directories, modes, symlinks as links', async () => {
    const from = tree();
    const to = join(mkdtempSync(join(tmpdir(), 'finale-copy-')), 'copy');
    await copyTree(from, to);
    expect(readFileSync(join(to, 'README'), 'utf8')).toBe('read me');
    expect([...readFileSync(join(to, 'src/deep/er/data.bin'))]).toEqual([0, 1, 2, 255]);
    expect(statSync(join(to, 'build.sh')).mode & 0o777).toBe(0o755);
    expect(lstatSync(join(to, 'link')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(to, 'link'))).toBe('src/deep');
  });

  it("gives each step the checkout plus earlier steps' artifacts, or an empty directory without clone", async () => {
    const root = mkdtempSync(join(tmpdir(), 'finale-ws-'));
    const paths = finalePaths(root).run('run-1');
    await copyTree(tree(), paths.source);

    const build = await prepareWorkspace(paths, spec(0, { paths: ['dist/**'], download: true }), []);
    mkdirSync(join(build, 'dist'));
    writeFileSync(join(build, 'dist/app.txt'), 'built');
    writeFileSync(join(build, 'scratch.txt'), 'not an artifact');
    expect(await collectArtifacts(paths, spec(0, { paths: ['dist/**'], download: true }), build)).toBe(1);

    const deploy = await prepareWorkspace(paths, spec(1, { paths: [], download: true }), [
      spec(0, { paths: ['dist/**'], download: true }),
    ]);
    expect(readFileSync(join(deploy, 'dist/app.txt'), 'utf8')).toBe('built');
    expect(readFileSync(join(deploy, 'README'), 'utf8')).toBe('read me');
    expect(() => statSync(join(deploy, 'scratch.txt'))).toThrow();

    const bare = await prepareWorkspace(paths, spec(2, { paths: [], download: false }, false), [
      spec(0, { paths: ['dist/**'], download: true }),
    ]);
    expect(() => statSync(join(bare, 'README'))).toThrow();
    expect(() => statSync(join(bare, 'dist/app.txt'))).toThrow();
  });
});
