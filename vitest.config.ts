import { defineConfig } from 'vitest/config';

/** The default suite: needs nothing but Node (simulators and brokers run in process, on loopback). */
export default defineConfig({
  test: {
    include: ['*/src/**/*.test.ts', 'tests/e2e/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    globalSetup: ['tests/global-setup.ts'],
  },
});
