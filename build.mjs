// Bundles the CLI into one ESM file so `finale` starts fast: one module to load, no TS at run time.
// Dependencies stay external; they are in node_modules after `npm ci`.
import { build } from 'esbuild';

await build({
  entryPoints: { finale: 'cli/main.ts' },
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  packages: 'external',
  sourcemap: 'linked',
  loader: { '.sh': 'text' },
  logLevel: 'warning',
});
