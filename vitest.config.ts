import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'drivers/**/*.test.ts', 'cloud-sync/**/*.test.ts', 'flows/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**', 'dist/**'],
    pool: 'forks',
    setupFiles: ['test/helpers/temp-cleanup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
