// The API's LogReader on CloudWatch Logs: a step's log is its task's `prepare` stream (clone,
// artifacts) followed by its `agent` stream, both written by awslogs in blocking mode. The agent's
// stream holds the script's output, which the agent reads from a file on the task's volume and writes
// with every secured value masked (agent/output.ts), then the agent's own lines (the step's result,
// artifacts uploaded, what Finale tells the step). The `step` container's own stream is never read: the
// script's output never goes there unmasked. The offset is the number of log events already read
// across the two streams.

import {
  type CloudWatchLogsClient,
  GetLogEventsCommand,
  type GetLogEventsCommandOutput,
} from '@aws-sdk/client-cloudwatch-logs';
import type { LogReader } from '../core/ports';
import { TASK_CONTAINERS } from '../statemachine/compiler/plan';
import { stepHasEnded } from '../vocabulary/contract';
import { logStreamOf } from './task-definitions';

/** Pages read per request: a follower asks again for the rest. */
const MAX_PAGES = 5;

export function cloudWatchLogReader(client: CloudWatchLogsClient, logGroup: string): LogReader {
  /** Every event of a stream from the head, up to MAX_PAGES pages; `done` when the stream was read to its end. */
  const readStream = async (stream: string): Promise<{ lines: string[]; done: boolean }> => {
    const lines: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let out: GetLogEventsCommandOutput;
      try {
        out = await client.send(
          new GetLogEventsCommand({
            logGroupName: logGroup,
            logStreamName: stream,
            startFromHead: true,
            ...(token ? { nextToken: token } : {}),
          }),
        );
      } catch (error) {
        // The task has not written anything yet.
        if (error instanceof Error && error.name === 'ResourceNotFoundException')
          return { lines, done: true };
        throw error;
      }
      for (const event of out.events ?? []) lines.push(event.message ?? '');
      // CloudWatch signals the end by returning the token it was given.
      if (!out.nextForwardToken || out.nextForwardToken === token) return { lines, done: true };
      token = out.nextForwardToken;
    }
    return { lines, done: false };
  };

  return {
    async read(run, step, offset) {
      const record = run.steps[String(step)];
      const ended = record !== undefined && stepHasEnded(record.status);
      if (!record?.taskId) return { text: '', next: offset, complete: ended, more: false };
      const streams = [TASK_CONTAINERS.prepare, TASK_CONTAINERS.agent].map((container) =>
        logStreamOf(container, record.taskId!),
      );
      const read = await Promise.all(streams.map(readStream));
      const lines = read.flatMap((stream) => stream.lines);
      const fresh = lines.slice(offset);
      const text = fresh.map((line) => (line.endsWith('\n') ? line : `${line}\n`)).join('');
      const next = Math.max(offset, lines.length);
      const whole = read.every((stream) => stream.done);
      return { text, next, complete: ended && whole, more: !whole };
    },
  };
}
