// The entry points infra/ bundles: each exports a handler, loads without configuration (it is read on
// the first invocation), and names the missing variable when the deployment forgot one.

import { describe, expect, it } from 'vitest';
import { LAMBDA_ENV } from '../../aws/config';

describe.each(['webhook', 'api', 'control', 'events'])('lambdas/%s/index.ts', (name) => {
  it('exports a handler and reads its configuration only when invoked', async () => {
    for (const variable of Object.values(LAMBDA_ENV.tables)) delete process.env[variable];
    const entry = (await import(`../../lambdas/${name}/index.ts`)) as { handler: unknown };
    expect(typeof entry.handler).toBe('function');
  });
});

it('names the missing variable on the first invocation', async () => {
  const { handler } = await import('../../lambdas/control/index');
  await expect(handler({ action: 'startRun', runId: 'r' })).rejects.toThrow(
    `Finale Lambda misconfigured: environment variable ${LAMBDA_ENV.tables.runs} is not set`,
  );
});
