import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: end-to-end tests spawn processes and servers, so keep parallelism modest.
    maxWorkers: 2,
  },
});
