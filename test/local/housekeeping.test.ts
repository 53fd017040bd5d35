// .finale/ stays bounded: a finished run's checkout and workspaces go at once, and only the newest
// finished runs keep their logs, history and artifacts; the run records stay.

import { existsSync, mkdirSync, readdirSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LocalHost } from '../../local/host';
import { openLocalHost } from '../../local/host';
import { sweepHome } from '../../local/housekeeping';
import { closeHost, sandbox, settle, start, until } from './harness';

let host: LocalHost | undefined;
afterEach(async () => {
  await closeHost(host);
  host = undefined;
});

const PIPELINE = `pipelines:
  default:
    - step:
        name: Build
        script:
          - mkdir -p dist && echo built > dist/app.txt
        artifacts:
          - dist/**
`;

describe('housekeeping of .finale/', () => {
  it('keeps the files of the newest finished runs only, and none of their checkouts', async () => {
    const box = sandbox(PIPELINE);
    host = await openLocalHost({ paths: box.paths, leaseSeconds: 2, keepRuns: 3 });
    const runs = [];
    for (let i = 0; i < 6; i++) runs.push(await settle(host, (await start(host)).runId));
    const runsDir = join(box.paths.home, 'runs');
    const kept = runs.slice(-3).map((run) => run.runId);
    await until(
      'the sweep after the last run',
      async () => readdirSync(runsDir).sort().join() === [...kept].sort().join(),
    );
    for (const runId of kept) {
      const paths = box.paths.run(runId);
      expect(existsSync(paths.source), 'the checkout goes').toBe(false);
      expect(existsSync(join(paths.dir, 'workspaces')), 'the workspaces go').toBe(false);
      expect(existsSync(paths.log(0)), 'the log stays').toBe(true);
      expect(existsSync(paths.history), 'the history stays').toBe(true);
      expect(existsSync(join(paths.artifacts(0), 'dist/app.txt')), 'the artifacts stay').toBe(true);
    }
    // The records stay: `finale runs` still lists all six.
    const listed = await host.core.listRuns(host.repository, { limit: 10 });
    expect(listed.items).toHaveLength(6);
  });

  it('removes what a server that died while starting a run left, once it is an hour old', async () => {
    const box = sandbox(PIPELINE);
    host = await openLocalHost({ paths: box.paths, leaseSeconds: 2 });
    // A start checks the run out into its folder before the run's record exists.
    const old = box.paths.run('stale-start').dir;
    const fresh = box.paths.run('fresh-start').dir;
    mkdirSync(old, { recursive: true });
    mkdirSync(fresh, { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    utimesSync(old, twoHoursAgo, twoHoursAgo);
    await sweepHome(box.paths, host.core, host.repository, 20);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });
});
