// Bundles the CLI into one ESM file so `finale` starts fast: one module to load, no TS at run time.
// Dependencies stay external; they are in node_modules after `npm ci`.
import { build } from 'esbuild';

await build({
  // mask.js: the process that masks a local step's output (supervisor/mask-main.ts).
  entryPoints: { finale: 'cli/main.ts', mask: 'supervisor/mask-main.ts' },
  outdir: 'dist',
  bundle: true,
  // Commands load what they need when they run: `finale stop` must not pay for the engine.
  splitting: true,
  // Chunks sit beside finale.js: modules find supervisor.sh and bin/ relative to themselves.
  chunkNames: '[name]-[hash]',
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  packages: 'external',
  sourcemap: 'linked',
  loader: { '.sh': 'text' },
  define: {
    FINALE_BUILD: JSON.stringify(`${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`),
  },
  logLevel: 'warning',
});
