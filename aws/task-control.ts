// The core's TaskControl port on ECS: StopTask. ECS sends SIGTERM to the task's containers, then
// SIGKILL after their stopTimeout. Whether the stop is graceful or immediate is not ECS's to say: the
// step task's agent reads the run's stop record on SIGTERM and tells the supervisor (agent/agent.ts).

import { type ECSClient, StopTaskCommand } from '@aws-sdk/client-ecs';
import type { TaskControl } from '../core/contract';

/** ECS shows the reason as the task's stoppedReason; it takes at most 255 characters. */
export const MAX_STOP_REASON = 255;

export function ecsTaskControl(options: {
  readonly client: ECSClient;
  readonly cluster: string;
}): TaskControl {
  return {
    async stopTask(taskId, _mode, reason) {
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
  };
}
