import { defineConfig } from 'vitest/config';

/**
 * Tests that need services installed on the machine (socat, Mosquitto, PostgreSQL, ffmpeg).
 * They fail, never skip, when a service is missing: .ci/run installs them.
 */
export default defineConfig({
  test: {
    include: ['tests/integration/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['tests/global-setup.ts'],
    fileParallelism: false,
  },
});
