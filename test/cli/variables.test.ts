// Variables as a user has them: `finale variables` with the real CLI and its background server, then
// a run whose steps print a secured value every way a script does — plainly, under `set -x`, from a
// child process, in two writes with a pause between, in the after-script and the final step, through
// an output variable — and a scan of everything under .finale/ for it.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { markerLines, type Sandbox, sandbox, until } from '../local/harness';
import { BIN, finale, launch, type Result, serverInfo, stopServer } from './support';

const SECRET = 'tok-Q7x9Vw2mZk';
const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map(stopServer));
});

function repo(yaml: string): Sandbox {
  const box = sandbox(yaml);
  roots.push(box.root);
  return box;
}

/** The CLI with `input` on its stdin (a pipe, as `printf … | finale variables set` gives it). */
function withInput(args: readonly string[], cwd: string, input: string, env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', FINALE_USER: 'alice@example.com', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(input);
  return new Promise<Result>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** Every file under `dir` that holds `needle` anywhere in its bytes. */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && readFileSync(path).includes(needle)) found.push(path);
  }
  return found;
}

const PIPELINE = `pipelines:
  custom:
    release:
      - variables:
          - name: OVERRIDE
            default: custom-default
      - step:
          name: Build
          script:
            - echo "plain $TOKEN"
            - printf '%s' "$(printf %s "$TOKEN" | cut -c1-6)"; sleep 0.3; printf '%s\\n' "$(printf %s "$TOKEN" | cut -c7-)"
            - set -x; true "$TOKEN"; set +x
            - sh -c 'echo "child $TOKEN" >&2'
            - echo "vars repo=$REPO_ONLY api=$API_URL override=$OVERRIDE shell=$FROM_SHELL finale=\${FINALE_HIDDEN:-removed}"
            - echo "AUTH=Bearer $TOKEN" >> "$BITBUCKET_PIPELINES_VARIABLES_PATH"
          output-variables:
            - AUTH
          after-script:
            - echo "after $TOKEN"
      - step:
          name: Deploy
          deployment: staging
          script:
            - echo "deploy repo=$REPO_ONLY api=$API_URL override=$OVERRIDE auth=$AUTH"
            - test "$AUTH" = "Bearer $TOKEN" && echo "the output variable arrived whole"
      - final:
          name: Clean
          script:
            - echo "final $TOKEN"
`;

describe('finale variables', () => {
  it('keeps a secured value write-only and out of every log and file of a run', async () => {
    const box = repo(PIPELINE);
    const set = await withInput(['variables', 'set', 'TOKEN', '--secured'], box.root, `${SECRET}\n`);
    expect(set).toMatchObject({
      code: 0,
      stdout: 'Set repository variable TOKEN (secured: it will not be shown again).\n',
    });
    for (const [args, value] of [
      [['variables', 'set', 'REPO_ONLY', 'repo-value'], ''],
      [['variables', 'set', 'API_URL', 'https://repo'], ''],
      [['variables', 'set', 'OVERRIDE', 'repo'], ''],
      [['variables', 'set', 'API_URL', '--deployment', 'staging'], 'https://staging\n'],
      [['variables', 'set', 'OVERRIDE', '--deployment', 'staging'], 'deployment'],
    ] as const) {
      const result = await withInput(args, box.root, value);
      expect([args, result.stderr, result.code]).toEqual([args, '', 0]);
    }

    const listed = await finale(['variables'], box.root);
    expect(listed.stdout).toBe(
      [
        'API_URL    https://repo',
        'OVERRIDE   repo',
        'REPO_ONLY  repo-value',
        'TOKEN      •••••• secured',
        'API_URL    https://staging (staging)',
        'OVERRIDE   deployment (staging)',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await finale(['variables', '--json'], box.root)).stdout);
    expect(json.find((v: { name: string }) => v.name === 'TOKEN')).toEqual({
      name: 'TOKEN',
      secured: true,
      updatedAt: expect.any(Number),
      updatedBy: 'alice@example.com',
    });
    expect((await finale(['environments'], box.root)).stdout).toBe('staging  2 variables\n');

    const run = await finale(['run', 'custom:release', '--var', 'OVERRIDE=given'], box.root, {
      FROM_SHELL: 'shell-value',
      FINALE_HIDDEN: 'leaked',
      API_URL: 'from-the-shell',
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // The live view: every way of printing it shows the name.
    expect(run.stdout).toContain('Build | plain $TOKEN\n');
    expect(run.stdout).toContain('Build | $TOKEN\n');
    expect(run.stdout).toContain('Build | + true $TOKEN\n');
    expect(run.stdout).toContain('Build | child $TOKEN\n');
    expect(run.stdout).toContain('Build | after $TOKEN\n');
    expect(run.stdout).toContain('Clean | final $TOKEN\n');
    // Precedence: the shell < repository < deployment (its step only) < custom; FINALE_ never passes.
    expect(run.stdout).toContain(
      'Build | vars repo=repo-value api=https://repo override=given shell=shell-value finale=removed\n',
    );
    expect(run.stdout).toContain(
      'Deploy | deploy repo=repo-value api=https://staging override=given auth=$AUTH\n',
    );
    expect(run.stdout).toContain('Deploy | the output variable arrived whole\n');
    expect(run.stdout).not.toContain(SECRET);

    const logs = await finale(['logs', '1'], box.root);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('plain $TOKEN');
    expect(logs.stdout).toContain('final $TOKEN');
    expect(logs.stdout).not.toContain(SECRET);
    await stopServer(box.root);
    // Logs, history, control files, output variables, the database on disk: nowhere in plain.
    expect(filesHolding(join(box.root, '.finale'), SECRET)).toEqual([]);
    expect(filesHolding(join(box.root, '.finale'), 'Bearer tok-')).toEqual([]);
  });

  it('refuses bad input with a clear error, stores nothing and echoes no secured value', async () => {
    const box = repo(PIPELINE);
    const cases: [readonly string[], string, string][] = [
      [
        ['variables', 'set', '9LIVES', 'x'],
        '',
        'finale: Invalid variable name "9LIVES": it starts with a digit\n',
      ],
      [['variables', 'set', 'EMPTY'], '\n', 'finale: Variable EMPTY has an empty value\n'],
      [
        ['variables', 'set', 'BIG'],
        'x'.repeat(5000),
        'finale: Variable BIG is 5000 bytes; a value holds at most 4096 bytes\n',
      ],
      [
        ['variables', 'set', 'API_URL', 'x', '--deployment', 'prod'],
        '',
        'finale: Unknown deployment environment "prod": the pipelines name staging (an environment is one a step\'s `deployment:` names)\n',
      ],
      [
        ['variables', 'set', 'TOKEN', SECRET, '--secured'],
        '',
        'finale: a secured value is never taken from the command line (it would stay in your shell history); pipe it in: printf %s "$VALUE" | finale variables set TOKEN --secured\n',
      ],
      [
        ['variables', 'set', 'BITBUCKET_COMMIT', 'x'],
        '',
        expect.stringContaining('are reserved') as unknown as string,
      ],
    ];
    for (const [args, input, message] of cases) {
      const result = await withInput(args, box.root, input);
      expect(result.stderr).toEqual(message);
      expect(result.stdout).toBe('');
      expect(result.code).toBe(2);
    }
    expect((await finale(['variables'], box.root)).stdout).toBe(
      'No variables yet; add one with `finale variables set NAME`.\n',
    );
    const secured = await withInput(['variables', 'set', 'TOKEN', '--secured'], box.root, SECRET);
    const listing = await finale(['variables', '--json'], box.root);
    for (const output of [secured.stdout, secured.stderr, listing.stdout, listing.stderr]) {
      expect(output).not.toContain(SECRET);
    }
    const unset = await finale(['variables', 'unset', 'TOKEN'], box.root);
    expect(unset).toMatchObject({ code: 0, stdout: 'Removed repository variable TOKEN.\n' });
    expect((await finale(['variables', 'unset', 'TOKEN'], box.root)).code).toBe(4);
  });

  it('keeps the key apart from the database, readable by the user only', async () => {
    const box = repo(PIPELINE);
    const keyFile = join(box.root, '..', `${box.root.split('/').pop()}.key`);
    expect(
      (
        await withInput(['variables', 'set', 'TOKEN', '--secured'], box.root, SECRET, {
          FINALE_KEY_FILE: keyFile,
        })
      ).code,
    ).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(filesHolding(join(box.root, '.finale'), readFileSync(keyFile, 'utf8').trim())).toEqual([]);
  });

  it('kill -9 of the server mid-step: the step goes on printing, its log stays masked to the end', async () => {
    const box = repo(`pipelines:
  default:
    - step:
        name: Deploy
        output-variables:
          - AUTH
        script:
          - echo "AUTH=Bearer $TOKEN" >> "$BITBUCKET_PIPELINES_VARIABLES_PATH"
          - sh -c 'trap "echo \\"cleaning up with $TOKEN\\"; exit 1" TERM; echo started >> "$MARKERS/order"; while :; do echo "still $TOKEN"; sleep 0.05; done'
        after-script:
          - echo "after $TOKEN"
    - final:
        name: Cleanup
        script:
          - echo "final $TOKEN"
`);
    expect((await withInput(['variables', 'set', 'TOKEN', '--secured'], box.root, SECRET)).code).toBe(0);
    const client = launch(['run'], box.root, { MARKERS: box.markers });
    await until('the step started', async () => markerLines(box, 'order').includes('started'), 30_000);
    process.kill(serverInfo(box.root).pid, 'SIGKILL');
    const result = await client.result;
    expect(result.stdout, result.stderr).toMatch(/Run #1 ERROR: The engine running it went away/);
    const logs = (await finale(['logs', '1'], box.root)).stdout;
    expect(logs).toContain('still $TOKEN');
    expect(logs).toContain('cleaning up with $TOKEN');
    expect(logs).toContain('after $TOKEN');
    expect(logs).toContain('final $TOKEN');
    await stopServer(box.root);
    expect(filesHolding(join(box.root, '.finale'), SECRET)).toEqual([]);
  });

  it('asks for a secured value at a terminal without echoing it', async () => {
    const box = repo(`pipelines:
  default:
    - step:
        name: Check
        script:
          - test "$TYPED" = "$EXPECTED" && echo "arrived as $TYPED"
`);
    // util-linux's script gives the CLI a pseudo-terminal; what it records is what the user would see.
    const child = spawn(
      'script',
      ['-q', '-e', '-c', `${process.execPath} ${BIN} variables set TYPED --secured`, '/dev/null'],
      { cwd: box.root, env: { ...process.env, NO_COLOR: '1', FINALE_USER: 'alice@example.com' } },
    );
    let screen = '';
    child.stdout.on('data', (chunk) => {
      screen += chunk;
    });
    await until('the prompt', async () => screen.includes('Value of TYPED (not shown): '));
    child.stdin.write(`${SECRET}\r`);
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(screen).toContain('Set repository variable TYPED (secured: it will not be shown again).');
    expect(screen).not.toContain(SECRET);
    // The value to compare with comes from the caller's environment: written in the YAML, it would be
    // in the plan and the rendered script, as any text of the pipeline file is.
    const run = await finale(['run'], box.root, { EXPECTED: SECRET });
    expect(run.stdout).toContain('Check | arrived as $TYPED\n');
    expect(filesHolding(join(box.root, '.finale'), SECRET)).toEqual([]);
  });
});
