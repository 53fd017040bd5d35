// The core's Orchestrator port on Step Functions: task tokens of `.waitForTaskToken` states.

import { SendTaskFailureCommand, SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { Orchestrator } from '../vocabulary/contract';

/** SendTask* limits: error ≤ 256 characters, cause ≤ 32,768. */
const MAX_ERROR = 256;
const MAX_CAUSE = 32_768;

/** The token's state or execution has ended (or never existed): the caller skips it. */
const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

function goneOrThrow(error: unknown): 'gone' {
  if (error instanceof Error && GONE.has(error.name)) return 'gone';
  throw error;
}

export function sfnOrchestrator(client: SFNClient): Orchestrator {
  return {
    async sendTaskSuccess(taskToken, output) {
      try {
        await client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output ?? {}) }));
        return 'ok';
      } catch (error) {
        return goneOrThrow(error);
      }
    },
    async sendTaskFailure(taskToken, error, cause) {
      try {
        await client.send(
          new SendTaskFailureCommand({
            taskToken,
            error: error.slice(0, MAX_ERROR),
            cause: cause.slice(0, MAX_CAUSE),
          }),
        );
        return 'ok';
      } catch (failure) {
        return goneOrThrow(failure);
      }
    },
  };
}
