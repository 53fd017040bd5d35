// The core's TaskControl port on ECS: StopTask, and DescribeTasks to learn what became of a final
// step's task when its execution ended outside Finale. ECS sends SIGTERM to the task's containers, then
// SIGKILL after their stopTimeout. Whether the stop is graceful or immediate is not ECS's to say: the
// step task's agent reads the run's stop record on SIGTERM and tells the supervisor (agent/agent.ts).

import { type CloudWatchLogsClient, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, type ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import { TASK_CONTAINERS } from '../statemachine/compiler/plan';
import type { TaskControl, TaskInspection } from '../vocabulary/contract';
import { taskEndedOf } from './ecs-task';
import { logStreamOf } from './task-definitions';

/** ECS shows the reason as the task's stoppedReason; it takes at most 255 characters. */
const MAX_STOP_REASON = 255;

export function ecsTaskControl(options: {
  readonly client: ECSClient;
  readonly cluster: string;
  /** Where the step tasks' awslogs streams are: tell() writes into the agent's, the step's log. */
  readonly logs?: { readonly client: CloudWatchLogsClient; readonly group: string };
}): TaskControl {
  return {
    async stopTask({ taskId }, reason) {
      try {
        await options.client.send(
          new StopTaskCommand({
            cluster: options.cluster,
            task: taskId,
            reason: reason.slice(0, MAX_STOP_REASON),
          }),
        );
      } catch (error) {
        // A task that has already stopped (and been cleaned up) is stopped: that is success.
        if (
          error instanceof Error &&
          error.name === 'InvalidParameterException' &&
          /not found/i.test(error.message)
        )
          return;
        throw error;
      }
    },

    async tell({ taskId }, message) {
      if (!taskId || !options.logs) return;
      // awslogs writes the stream too; PutLogEvents needs no sequence token since 2023.
      await options.logs.client.send(
        new PutLogEventsCommand({
          logGroupName: options.logs.group,
          logStreamName: logStreamOf(TASK_CONTAINERS.agent, taskId),
          logEvents: [{ timestamp: Date.now(), message: `finale: ${message}` }],
        }),
      );
    },

    async inspectTask({ taskId }): Promise<TaskInspection> {
      // Unknown (the events function had not indexed it yet): its execution's end stopped it.
      if (!taskId) return { state: 'gone' };
      const described = await options.client.send(
        new DescribeTasksCommand({ cluster: options.cluster, tasks: [taskId] }),
      );
      const task = described.tasks?.[0];
      // ECS forgets a stopped task after about an hour: it says MISSING.
      if (!task) return { state: 'gone' };
      if (task.lastStatus !== 'STOPPED') return { state: 'running' };
      const agent = task.containers?.find((container) => container.name === TASK_CONTAINERS.agent);
      if (agent?.exitCode === undefined) return { state: 'gone' };
      return {
        state: 'ended',
        task: {
          ...taskEndedOf({ ...(task.stopCode ? { stopCode: task.stopCode } : {}) }),
          exitCode: agent.exitCode,
        },
      };
    },
  };
}
