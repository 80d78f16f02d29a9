// The widget in Firefox and WebKit (tests/browsers): one browser at a time, in its own fork.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/browsers/**/*.test.js'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
  },
});
