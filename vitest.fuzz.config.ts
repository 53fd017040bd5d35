import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/fuzz/**/*.test.ts'],
    testTimeout: 1_800_000,
    env: { FINALE_FUZZ_RUNS: '100000' },
  },
});
