import { defineConfig } from 'vitest/config';
import { missingTools } from './test/support/tools.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A tool this machine lacks takes out the files that exist for it (global-setup.ts says which).
    exclude: ['test/corpus/**', 'test/fuzz/**', ...missingTools().flatMap((tool) => tool.files)],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of the slow files wait on real processes (steps, servers, grace periods) rather than
    // compute: two at a time (one per core) run them side by side.
    maxWorkers: 2,
    benchmark: { include: ['bench/**/*.bench.ts'] },
  },
});
