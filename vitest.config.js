import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/js/**/*.test.js'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // WebGPU (Dawn) and the WASM modules are heavy: keep files in separate forks, two at a time.
    pool: 'forks',
    maxWorkers: 2,
  },
});
