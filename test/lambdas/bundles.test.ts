// What the functions invoked on every state transition and every task event load: the control and
// events bundles, built as infra/ builds them, hold neither the pipeline language nor its parser and
// schemas (only the functions that start runs get the compiler: statemachine/pipelines.ts).
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

async function inputsOf(handler: string): Promise<string[]> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(`../../lambdas/${handler}/index.ts`, import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    external: ['@aws-sdk/*'],
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  return Object.keys(result.metafile.inputs);
}

const LANGUAGE = /node_modules\/(yaml|zod|picomatch)\/|statemachine\/(language|compiler\/compile)/;

describe('Lambda bundles', () => {
  it.each(['control', 'events'])('%s loads neither the language nor the compiler', async (handler) => {
    const inputs = await inputsOf(handler);
    expect(inputs.some((input) => input.includes('core/index.ts'))).toBe(true);
    expect(inputs.filter((input) => LANGUAGE.test(input))).toEqual([]);
  });

  it('the webhook does, to start runs', async () => {
    const inputs = await inputsOf('webhook');
    expect(inputs.some((input) => input.includes('statemachine/language/parse.ts'))).toBe(true);
  });
});
