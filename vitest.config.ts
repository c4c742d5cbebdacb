import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real services and write real files: give them room on a shared 2-core box.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
