// The control Lambda: the compiled state machine's `lambda:invoke` states call it with a
// ControlPayload, which it reads into the core's ControlRequest (aws/ecs-task.ts). An error keeps its `name`, which the Lambda runtime reports as the
// errorType that the definition's Catch and Retry match (Run.NotRunning, Step.Failed, …).

import { controlRequestOf } from '../../aws/ecs-task';
import type { Core } from '../../core/index';
import type { ControlPayload } from '../../vocabulary/contract';
import { awsClients, awsCore, awsStore, CORE_CONFIG, logger, once, readConfig } from '../runtime';

export function createControlHandler(getCore: () => Core) {
  return async function control(event: ControlPayload): Promise<unknown> {
    try {
      return await getCore().control(controlRequestOf(event));
    } catch (error) {
      if (error instanceof Error) {
        logger.info('control action failed', {
          action: event?.action,
          runId: event?.runId,
          error: error.name,
        });
        throw error;
      }
      throw new Error(String(error));
    }
  };
}

export const handler = createControlHandler(
  once(() => {
    const config = readConfig(CORE_CONFIG);
    return awsCore(awsStore(config), awsClients(), config);
  }),
);
