// RunTask refused for a reason that is not the step's (no Fargate capacity: Step Functions raises
// ECS.AmazonECSException, repost.aws/knowledge-center/ecs-fargate-runtask-capacity) is retried by the
// compiled definition itself, on both engines: here the embedded one, whose ECS refuses the first
// start. The step then runs once, with no on-fail attempt spent.

import { afterEach, describe, expect, it } from 'vitest';
import type { StepTaskRequest } from '../../local/engine';
import type { LocalHost } from '../../local/host';
import { LocalTaskRunner } from '../../local/task-runner';
import { closeHost, markerLines, openHost, sandbox, settle, start } from './harness';

let host: LocalHost | undefined;
afterEach(async () => {
  await closeHost(host);
  host = undefined;
});

class RefusingFirst extends LocalTaskRunner {
  calls = 0;
  override async run(request: StepTaskRequest): Promise<unknown> {
    this.calls++;
    if (this.calls <= 2) {
      throw Object.assign(new Error('Capacity is unavailable at this time. Please try again later'), {
        name: 'ECS.AmazonECSException',
      });
    }
    return super.run(request);
  }
}

describe('RunTask refused by ECS', () => {
  it('is started again by the definition: the step runs once and succeeds, its attempts untouched', async () => {
    const box = sandbox(`pipelines:
  default:
    - step:
        name: Build
        script:
          - echo built >> "$MARKERS/build"
`);
    let runner: RefusingFirst | undefined;
    host = await openHost(box, {
      seams: {
        runner: (options) => {
          runner = new RefusingFirst(options);
          return runner;
        },
        retryIntervalMs: 20,
      },
    });
    const { runId } = await start(host);
    const run = await settle(host, runId);
    expect(run.status).toBe('SUCCESSFUL');
    expect(runner!.calls).toBe(3);
    expect(markerLines(box, 'build')).toEqual(['built']);
    expect(run.steps['0']).toMatchObject({ status: 'SUCCESSFUL', attempts: 1 });
  });
});
