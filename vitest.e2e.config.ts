import { defineConfig } from 'vitest/config';

/** End-to-end suite: the built gateway as a process, real Mosquitto, real Chromium. Run after `npm run build`. */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    pool: 'forks',
    setupFiles: ['test/helpers/temp-cleanup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
