import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { renderStep } from '../../supervisor/render';
import { SUPERVISOR_PATH } from '../../supervisor/start';
import { removeTemporaryDirs, temporaryDir } from './helpers';

function shellcheck(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync('shellcheck', args, { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

afterAll(removeTemporaryDirs);

describe('shellcheck', () => {
  test('passes on supervisor.sh', () => {
    expect(shellcheck(SUPERVISOR_PATH)).toEqual({ status: 0, output: '' });
  });

  test.each(['sh', 'bash'])('passes on a rendered script file (%s dialect)', (dialect) => {
    const rendered = renderStep({
      script: [
        'npm ci',
        'if [ "$BITBUCKET_BRANCH" = main ]; then',
        'echo "deploying $BITBUCKET_COMMIT"',
        'fi',
        'docker build \\',
        '  -t "app:$BITBUCKET_BUILD_NUMBER" .',
        "echo 'it'\\''s quoted'",
        'echo "VERSION=1" >> "$BITBUCKET_PIPELINES_VARIABLES_PATH"',
      ],
      afterScript: ['echo "exit code $BITBUCKET_EXIT_CODE"'],
    });
    const dir = temporaryDir('shellcheck');
    for (const [name, text] of [
      ['script.sh', rendered.script],
      ['after-script.sh', rendered.afterScript!],
    ] as const) {
      writeFileSync(join(dir, name), text);
      expect(shellcheck('--shell', dialect, join(dir, name))).toEqual({ status: 0, output: '' });
    }
  });
});
