// The README's way to use `finale` in one's own repository (`npx finale` elsewhere fetches an
// unrelated package of that name): `npm link` in this checkout puts the command on PATH, and from
// there it runs another repository's pipeline with nothing else installed there.

import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sandbox, sandbox } from '../local/harness';
import { stopServer } from './support';

const run = promisify(execFile);
const CHECKOUT = join(import.meta.dirname, '..', '..');

let box: Sandbox | undefined;
afterEach(async () => {
  if (box) await stopServer(box.root);
  box = undefined;
});

describe('finale in one’s own repository', () => {
  it('`npm link` puts finale on PATH, and it runs that repository’s pipeline to its end', async () => {
    // A prefix of its own instead of the machine's global one. --ignore-scripts: the prepare script
    // (the build) has run already, and running it again would rewrite dist/ under the other tests.
    const prefix = mkdtempSync(join(tmpdir(), 'finale-prefix-'));
    execFileSync('npm', ['link', '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: CHECKOUT,
      env: { ...process.env, npm_config_prefix: prefix },
      stdio: 'ignore',
    });
    expect(realpathSync(join(prefix, 'bin', 'finale'))).toBe(join(CHECKOUT, 'bin', 'finale.js'));

    box = sandbox(`pipelines:
  default:
    - step:
        name: Build
        script:
          - echo "built in $BITBUCKET_CLONE_DIR"
`);
    const env = { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, NO_COLOR: '1' };
    const { stdout } = await run('finale', ['run'], { cwd: box.root, env });
    expect(stdout).toContain('built in ');
    expect(stdout).toMatch(/SUCCESSFUL/);
  });
});
