// Reports the size of each Lambda bundle, built as CDK's NodejsFunction builds it for nodejs22.x
// (esbuild, minified, ESM, `@aws-sdk/*` left to the runtime's SDK), and with the SDK bundled too.
// `node lambdas/bundle-size.mjs [--json]`
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export const HANDLERS = ['webhook', 'api', 'control', 'events'];

async function size(entry, external, dir) {
  const outfile = join(dir, `${entry}-${external.length ? 'runtime-sdk' : 'bundled-sdk'}.mjs`);
  await build({
    entryPoints: [fileURLToPath(new URL(`./${entry}/index.ts`, import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    external,
    logLevel: 'error',
  });
  return (await stat(outfile)).size;
}

export async function bundleSizes() {
  const dir = await mkdtemp(join(tmpdir(), 'finale-bundles-'));
  try {
    const sizes = {};
    for (const handler of HANDLERS) {
      sizes[handler] = {
        runtimeSdk: await size(handler, ['@aws-sdk/*'], dir),
        bundledSdk: await size(handler, [], dir),
      };
    }
    return sizes;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const sizes = await bundleSizes();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify(sizes));
  } else {
    const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
    console.log('handler   SDK from the runtime   SDK bundled');
    for (const [handler, { runtimeSdk, bundledSdk }] of Object.entries(sizes)) {
      console.log(`${handler.padEnd(9)} ${kb(runtimeSdk).padStart(20)}   ${kb(bundledSdk).padStart(11)}`);
    }
  }
}
