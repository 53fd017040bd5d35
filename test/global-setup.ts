import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools, missingToolsNotice } from './support/tools';

export default function setup(): () => void {
  const notice = missingToolsNotice(missingTools());
  if (notice !== null) {
    // CI must run every variant: a missing tool there is a broken machine, not a choice.
    if (process.env.CI === 'true') throw new Error(`CI=true needs every test to run, but ${notice}`);
    process.stderr.write(`${notice}\n`);
  }
  // Tests that spawn `finale` need the bundled CLI; building takes well under a second.
  execFileSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });

  // Every temporary file of the run — the tests', CDK's cdk.out*, those of the servers and steps
  // they start — goes under one directory, removed at the end whatever a test left there.
  const scratch = mkdtempSync(join(tmpdir(), 'finale-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = scratch;
  // The local vault's key file (and any other user configuration) stays in there too.
  process.env.XDG_CONFIG_HOME = join(scratch, 'config');
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(scratch, { recursive: true, force: true });
  };
}
