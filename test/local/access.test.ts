// The per-install token is created by whichever command runs first; commands started together (a
// `finale run` and a `finale show` from another terminal) must all read the same whole token.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installToken } from '../../local/access';
import { finalePaths } from '../../local/paths';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function fresh(): string {
  const dir = mkdtempSync(join(tmpdir(), 'finale-token-'));
  dirs.push(dir);
  return dir;
}

const TOKEN = /^[0-9a-f]{64}$/;

describe('installToken', () => {
  it('gives every concurrent caller the same whole token, never a half-written file', async () => {
    for (let round = 0; round < 50; round++) {
      const paths = finalePaths(fresh());
      const tokens = await Promise.all(Array.from({ length: 8 }, () => installToken(paths)));
      expect(new Set(tokens).size).toBe(1);
      expect(tokens[0]).toMatch(TOKEN);
      expect(statSync(paths.tokenFile).mode & 0o777).toBe(0o600);
    }
  });

  it('gives processes started together the same token', async () => {
    const root = fresh();
    const script = `import { installToken } from './local/access.ts'; import { finalePaths } from './local/paths.ts';
process.stdout.write(await installToken(finalePaths(${JSON.stringify(root)})));`;
    const outputs = await Promise.all(
      Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
              cwd: process.cwd(),
              stdio: ['ignore', 'pipe', 'inherit'],
            });
            let out = '';
            child.stdout.on('data', (chunk) => {
              out += chunk;
            });
            child.on('error', reject);
            child.on('close', () => resolve(out));
          }),
      ),
    );
    expect(new Set(outputs).size).toBe(1);
    expect(outputs[0]).toMatch(TOKEN);
  });
});
