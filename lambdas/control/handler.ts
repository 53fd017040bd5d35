// The control Lambda: the compiled state machine's `lambda:invoke` states call it with a
// ControlRequest as the payload. An error keeps its `name`, which the Lambda runtime reports as the
// errorType that the definition's Catch and Retry match (Run.NotRunning, Step.Failed, …).

import type { Core } from '../../core/index';
import type { ControlRequest } from '../../vocabulary/contract';
import { awsClients, awsCore, awsStore, logger, once, readConfig } from '../runtime';

export function createControlHandler(getCore: () => Core) {
  return async function control(event: ControlRequest): Promise<unknown> {
    try {
      return await getCore().control(event);
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
    const config = readConfig(['tables', 'cluster']);
    return awsCore(awsStore(config), awsClients(), config.cluster);
  }),
);
