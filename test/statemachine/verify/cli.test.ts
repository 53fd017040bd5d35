// `finale verify` as a process: the line per pipeline, --all, --json, and the exit codes.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { finale } from '../../cli/support';
import { FIXTURES } from '../compiler/support';

const dir = mkdtempSync(join(tmpdir(), 'finale-verify-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return name;
};

describe('finale verify', () => {
  it('verifies the pipeline a push would run, in one line', async () => {
    copyFileSync(join(FIXTURES, 'final.yml'), join(dir, 'bitbucket-pipelines.yml'));
    const result = await finale(['verify'], dir);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(
      /^bitbucket-pipelines\.yml: default: verified \(\d+ states, \d+ paths explored\)\n$/,
    );
    expect(result.code).toBe(0);
  });

  it('verifies every pipeline of a file with --all', async () => {
    const two = file(
      'two.yml',
      'pipelines:\n  default:\n    - step:\n        script: [make]\n  branches:\n    main:\n      - step:\n          deployment: production\n          script: [./deploy.sh]\n',
    );
    const result = await finale(['verify', '-f', two, '--all'], dir);
    expect(result.stdout.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(/^two\.yml: default: verified \(\d+ states, \d+ paths explored\)$/),
      expect.stringMatching(/^two\.yml: branches:main: verified \(\d+ states, \d+ paths explored\)$/),
    ]);
    expect(result.code).toBe(0);
  });

  it('reports as JSON with --json', async () => {
    copyFileSync(join(FIXTURES, 'parallel.yml'), join(dir, 'parallel.yml'));
    const result = await finale(['verify', '-f', 'parallel.yml', 'default', '--json'], dir);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      verified: boolean;
      pipelines: {
        pipeline: string;
        verified: boolean;
        states: number;
        paths: number;
        violations: unknown[];
      }[];
    };
    expect(report.verified).toBe(true);
    expect(report.pipelines).toEqual([
      {
        pipeline: 'default',
        verified: true,
        states: expect.any(Number),
        paths: expect.any(Number),
        violations: [],
      },
    ]);
    expect(report.pipelines[0]!.states).toBeGreaterThan(20);
  });

  it('rejects an invalid file with the language diagnostic (exit 1)', async () => {
    const bad = file('bad.yml', 'pipelines:\n  default:\n    - step:\n        script: [make\n');
    const result = await finale(['verify', '-f', bad], dir);
    expect(result.stderr).toMatch(/^bad\.yml:\d+:\d+: /m);
    expect(result.stderr).toContain('bad.yml is not valid');
    expect(result.stdout).toBe('');
    expect(result.code).toBe(1);
  });

  it('exits 1 for a pipeline the file does not have, 2 for a missing file or a pipeline with --all', async () => {
    copyFileSync(join(FIXTURES, 'plain.yml'), join(dir, 'plain.yml'));
    expect((await finale(['verify', '-f', 'plain.yml', 'custom:nope'], dir)).code).toBe(1);
    const missing = await finale(['verify', '-f', 'missing.yml'], dir);
    expect(missing.stderr).toContain('cannot read missing.yml');
    expect(missing.code).toBe(2);
    expect((await finale(['verify', '-f', 'plain.yml', 'default', '--all'], dir)).code).toBe(2);
  });

  it('documents its exit codes in --help', async () => {
    const result = await finale(['verify', '--help'], dir);
    expect(result.stdout).toContain('Exit codes: 0 every pipeline verified, 1 a violation');
    expect(result.code).toBe(0);
  });
});
