import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // two files at a time: most of a file's time is spent waiting on the processes it starts; each file
    // has its own Redis prefix, PostgreSQL schema, ports and temp dirs, so they do not see each other
    fileParallelism: true,
    maxWorkers: 2,
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
  },
});
