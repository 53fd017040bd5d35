// The validate, pipelines and explain commands, run as the real CLI (built by the global setup).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = resolve('bin/finale.js');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function finale(args: string[], cwd = process.cwd()): Promise<Run> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, env: { ...process.env, NO_COLOR: '' }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
const files: Record<string, string> = {
  'ok.yml': [
    'pipelines:',
    '  default:',
    '    - step:',
    '        name: Build',
    '        script: [make]',
    '    - step:',
    '        name: Deploy',
    '        deployment: production',
    '        trigger: manual',
    '        script:',
    '          - pipe: atlassian/aws-s3-deploy:1.1.0',
    '    - final:',
    '        script: [cleanup]',
    '  branches:',
    '    feature/*:',
    '      - step:',
    '          script: [test]',
    '  custom:',
    '    deploy:',
    '      - variables:',
    '          - name: ENVIRONMENT',
    '            allowed-values: [staging, production]',
    '      - step:',
    '          script: [deploy]',
    '',
  ].join('\n'),
  'bad.yml': 'pipelines:\n  default:\n    - step:\n        scirpt: [make]\n        max-time: 0\n',
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'finale-cli-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'bitbucket-pipelines.yml'), files['ok.yml'] as string);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('finale validate', () => {
  it('exits 0 for a valid file and prints warnings on stderr', async () => {
    const run = await finale(['validate', 'ok.yml'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('ok.yml: valid (1 warning)\n');
    expect(run.stderr).toMatch(/^ok\.yml:11:13: warning: Finale has no pipe runner/);
  });

  it('reads ./bitbucket-pipelines.yml by default', async () => {
    const run = await finale(['validate'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('bitbucket-pipelines.yml: valid (1 warning)\n');
  });

  it('exits 1 for an invalid file, one FILE:LINE:COL error per line on stderr', async () => {
    const run = await finale(['validate', 'bad.yml'], dir);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toEqual([
      'bad.yml:3:7: this step has no `script`; every step needs one [script-required]',
      'bad.yml:4:9: unknown key `scirpt` in a step; did you mean `script`? [unknown-key]',
      'bad.yml:5:19: `max-time` must be a whole number of minutes from 1 to 720, not 0 [max-time-range]',
    ]);
    expect(run.stdout).toBe('bad.yml: invalid (3 errors)\n');
  });

  it('exits 2 when a file cannot be read, after checking the others', async () => {
    const run = await finale(['validate', 'ok.yml', 'missing.yml', 'bad.yml'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('finale: cannot read missing.yml: no such file');
    expect(run.stdout).toBe('ok.yml: valid (1 warning)\nbad.yml: invalid (3 errors)\n');
  });

  it('exits 2 for an unknown option', async () => {
    const run = await finale(['validate', '--frobnicate'], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown option '--frobnicate'");
  });

  it('gives machine-readable diagnostics per file with --json', async () => {
    const run = await finale(['validate', '--json', 'ok.yml', 'bad.yml'], dir);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout);
    expect(report.valid).toBe(false);
    expect(report.files.map((f: { file: string; valid: boolean }) => [f.file, f.valid])).toEqual([
      ['ok.yml', true],
      ['bad.yml', false],
    ]);
    expect(report.files[1].diagnostics[0]).toEqual({
      severity: 'error',
      file: 'bad.yml',
      line: 3,
      column: 7,
      code: 'script-required',
      message: 'this step has no `script`; every step needs one',
    });
    expect(run.stderr).toBe('');
  });

  it('checks many files in one process (the whole corpus: test/corpus)', async () => {
    const many = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const name = join(dir, `many-${i}.yml`);
        await writeFile(name, files[i % 2 === 0 ? 'ok.yml' : 'bad.yml'] ?? '');
        return name;
      }),
    );
    const run = await finale(['validate', '--json', ...many]);
    const report = JSON.parse(run.stdout);
    expect(report.files).toHaveLength(60);
    expect(report.files.filter((file: { valid: boolean }) => file.valid)).toHaveLength(30);
    expect(run.code).toBe(1);
  });

  it('prints no colour codes when not on a terminal', async () => {
    const run = await finale(['validate', 'bad.yml'], dir);
    expect(run.stderr + run.stdout).not.toMatch(/\u001b\[/);
  });
});

describe('finale pipelines', () => {
  it('lists selector, steps, deployments and the final step', async () => {
    const run = await finale(['pipelines', '-f', 'ok.yml'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'PIPELINE            SELECTOR  STEPS  DEPLOYMENTS  FINAL',
      'default             default   3      production   yes',
      'branches:feature/*  branches  1      -            no',
      'custom:deploy       custom    1      -            no',
      '',
    ]);
    expect(run.stderr).toBe('(1 warning: `finale validate` shows them)\n');
  });

  it('prints JSON with --json, and exits 1 for an invalid file', async () => {
    const run = await finale(['pipelines', '-f', 'ok.yml', '--json'], dir);
    expect(JSON.parse(run.stdout)[0]).toEqual({
      key: 'default',
      selector: 'default',
      steps: 3,
      deployments: ['production'],
      final: true,
    });
    expect((await finale(['pipelines', '-f', 'bad.yml'], dir)).code).toBe(1);
  });
});

describe('finale explain', () => {
  it('says which pipeline a branch runs and lists its steps', async () => {
    const run = await finale(['explain', '--branch', 'feature/login'], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      'branches:feature/* runs: branch `feature/login` matches `branches:feature/*`.\n  1. Step 1\n',
    );
  });

  it('falls back to default, and shows manual, deployment and final steps', async () => {
    const run = await finale(['explain', '-f', 'ok.yml', '--branch', 'main'], dir);
    expect(run.stdout).toBe(
      [
        'default runs: no branch pattern matches `main`, so the default pipeline runs.',
        '  1. Build',
        '  2. Deploy (manual, deploys to production)',
        '  3. Step 3 (final)',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 when nothing would run: a tag, or [skip ci]', async () => {
    const tag = await finale(['explain', '--tag', 'v1.0'], dir);
    expect(tag.code).toBe(1);
    expect(tag.stdout).toBe(
      'No pipeline runs: no tag pattern matches `v1.0` (the default pipeline never runs for tags).\n',
    );
    const skip = await finale(['explain', '--branch', 'main', '--message', 'docs [skip ci]'], dir);
    expect(skip.code).toBe(1);
    expect(skip.stdout).toBe(
      'No pipeline runs: the commit message contains [skip ci], so no pipeline starts.\n',
    );
  });

  it('checks custom variables', async () => {
    const good = await finale(['explain', '--custom', 'deploy', '--var', 'ENVIRONMENT=production'], dir);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('  variable ENVIRONMENT=production\n');
    const bad = await finale(['explain', '--custom', 'deploy', '--json'], dir);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({
      reason: 'the variables for `custom:deploy` are not valid',
      errors: ['`ENVIRONMENT` is required: it has no default'],
      pipeline: null,
      steps: [],
      triggered: [],
    });
  });

  it("lists the custom pipelines the file's triggers add, and exits 0 when only they would run", async () => {
    await writeFile(
      join(dir, 'triggers.yml'),
      [
        'pipelines:',
        '  custom:',
        '    lint:',
        '      - step: {name: Lint, script: [make lint]}',
        'triggers:',
        '  pullrequest-push:',
        '    - condition: BITBUCKET_PR_DESTINATION_BRANCH == "main"',
        '      pipelines: [lint]',
        '',
      ].join('\n'),
    );
    const opened = await finale(['explain', '-f', 'triggers.yml', '--pr', 'feature/x:main'], dir);
    expect(opened.code).toBe(1);
    const updated = await finale(
      ['explain', '-f', 'triggers.yml', '--pr', 'feature/x:main', '--pr-event', 'updated'],
      dir,
    );
    expect(updated.code).toBe(0);
    expect(updated.stdout).toBe(
      [
        'No pipeline runs: no pull-requests pattern matches the pull request from `feature/x` to `main`.',
        'custom:lint also runs: the `pullrequest-push` trigger\'s condition `BITBUCKET_PR_DESTINATION_BRANCH == "main"` holds.',
        '  1. Lint',
        '',
      ].join('\n'),
    );
    const json = JSON.parse(
      (
        await finale(
          ['explain', '-f', 'triggers.yml', '--pr', 'x:main', '--pr-event', 'updated', '--json'],
          dir,
        )
      ).stdout,
    );
    expect(json.triggered.map((t: { pipeline: string }) => t.pipeline)).toEqual(['custom:lint']);
  });

  it('reads --pr SOURCE:DESTINATION', async () => {
    const run = await finale(['explain', '--pr', 'feature/x:main', '--json'], dir);
    expect(JSON.parse(run.stdout).reason).toBe(
      'no pull-requests pattern matches the pull request from `feature/x` to `main`',
    );
  });

  it('exits 2 without exactly one trigger, or for an unreadable file', async () => {
    const none = await finale(['explain'], dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('give exactly one of --branch, --tag, --bookmark, --pr or --custom');
    expect((await finale(['explain', '--branch', 'a', '--tag', 'b'], dir)).code).toBe(2);
    expect((await finale(['explain', '--branch', 'a', '-f', 'missing.yml'], dir)).code).toBe(2);
  });
});

describe('help', () => {
  it.each([
    'validate',
    'pipelines',
    'explain',
  ])('finale %s --help exits 0 and documents exit codes', async (command) => {
    const run = await finale([command, '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('Exit codes:');
  });
});
