// Bundles the step-task program into one file (AWS SDK included: the image has no node_modules).
// `node agent/build.mjs [outfile]`; the Dockerfile and the tests run it.
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

export async function buildAgent(
  outfile = fileURLToPath(new URL('../dist/agent/finale-agent.mjs', import.meta.url)),
) {
  await build({
    entryPoints: [fileURLToPath(new URL('./main.ts', import.meta.url))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    sourcemap: false,
    loader: { '.sh': 'text' },
    // Some bundled CommonJS dependencies call require() for Node built-ins.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildAgent(process.argv[2]);
}
