// The promise Finale exists for, as a user keeps it: a graceful stop lets the deployment tool — a
// child of the step's shell, as Terraform always is — release its lock, every time. The real CLI,
// the real example pipeline, the real server; repeated, because a race shows up in a row of tries.

import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { markerLines, type Sandbox, sandbox, until } from '../local/harness';
import { leftAlive, stepProcessesIn } from '../support/processes';
import { finale, launch, stopServer } from './support';

const roots: string[] = [];
const burners: ChildProcess[] = [];
afterEach(async () => {
  for (const burner of burners.splice(0)) burner.kill('SIGKILL');
  await Promise.all(roots.splice(0).map(stopServer));
});

const EXAMPLE = join(import.meta.dirname, '../../examples/terraform-like');

function terraformRepo(): Sandbox {
  const box = sandbox(readFileSync(join(EXAMPLE, 'bitbucket-pipelines.yml'), 'utf8'));
  roots.push(box.root);
  mkdirSync(join(box.root, 'examples/terraform-like'), { recursive: true });
  copyFileSync(
    join(EXAMPLE, 'fake-terraform.sh'),
    join(box.root, 'examples/terraform-like/fake-terraform.sh'),
  );
  return box;
}

describe('a graceful stop of examples/terraform-like', () => {
  it('releases the state lock in each of 20 stops in a row, and the next plan never finds it', async () => {
    const box = terraformRepo();
    const env = { EXAMPLE_STATE: join(box.markers, 'state'), FAKE_TERRAFORM_SECONDS: '120' };
    const lock = join(box.markers, 'state/terraform/terraform.tflock');
    for (let build = 1; build <= 20; build++) {
      const client = launch(['run', '--json'], box.root, env);
      await until(`build ${build} to hold the state lock`, async () => existsSync(lock), 30_000);
      const stop = await finale(['stop', String(build)], box.root, env);
      expect(stop.code, stop.stderr).toBe(0);
      const result = await client.result;
      const summary = JSON.parse(result.stdout);
      // Plan succeeded (no lock left by the build before), Apply was stopped, the final step ran.
      expect(
        summary.steps.map((step: { status: string }) => step.status),
        `build ${build}`,
      ).toEqual(['SUCCESSFUL', 'STOPPED', 'SUCCESSFUL']);
      expect(result.code).toBe(130);
      expect(existsSync(lock), `build ${build} left the state lock behind`).toBe(false);
      const check = await finale(['logs', String(build), '3'], box.root, env);
      expect(check.stdout).toContain('No state lock is held: the apply finished or shut down gracefully.');
      expect(check.stdout).not.toContain('STALE STATE LOCK');
    }
    expect(await leftAlive(() => stepProcessesIn(box.root))).toEqual([]);
  }, 240_000);
});

describe('Ctrl+C on `finale run`', () => {
  it('on a loaded machine, five times: the child gets its signal, cleans up, and the after-script runs', async () => {
    const box = sandbox(`pipelines:
  default:
    - step:
        name: Apply
        script:
          - sh -c 'trap "echo cleaned >> \\"$MARKERS/child-$BITBUCKET_BUILD_NUMBER\\"; exit 1" TERM INT; echo started >> "$MARKERS/child-$BITBUCKET_BUILD_NUMBER"; while :; do sleep 0.1; done'
        after-script:
          - echo "after $BITBUCKET_EXIT_CODE" >> "$MARKERS/after-$BITBUCKET_BUILD_NUMBER"
    - final:
        name: Report
        script:
          - echo final >> "$MARKERS/final-$BITBUCKET_BUILD_NUMBER"
`);
    roots.push(box.root);
    // Both cores busy: what "a loaded machine" means here.
    for (let i = 0; i < 2; i++) {
      burners.push(spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
    }
    for (let build = 1; build <= 5; build++) {
      const client = launch(['run'], box.root, { MARKERS: box.markers });
      await until(
        `build ${build} to start`,
        async () => markerLines(box, `child-${build}`).length > 0,
        30_000,
      );
      client.child.kill('SIGINT');
      const result = await client.result;
      expect(result.code, result.stderr).toBe(130);
      expect(markerLines(box, `child-${build}`), `build ${build}`).toEqual(['started', 'cleaned']);
      expect(markerLines(box, `after-${build}`), `build ${build}`).toEqual(['after 143']);
      expect(markerLines(box, `final-${build}`), `build ${build}`).toEqual(['final']);
    }
  }, 180_000);
});
