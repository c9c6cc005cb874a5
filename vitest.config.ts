import { defineConfig } from 'vitest/config'

export default defineConfig({
  // Workspace packages resolve to their built dist/ (npm test builds first), as in production: the
  // load worker thread can only start from built JavaScript.
  test: {
    include: ['test/**/*.test.ts'],
    // Load tests measure latency: never run two of them at once on a 2-core machine.
    fileParallelism: false,
    testTimeout: 60_000,
    // Builds gauntlet:local once per run (when Docker answers and Docker/deploy tests are selected).
    globalSetup: ['test/helpers/image-global-setup.ts'],
    hookTimeout: 30_000,
    // .ci/run sets GAUNTLET_TEST_JSON to read the pass/fail counts from vitest's JSON reporter.
    ...(process.env.GAUNTLET_TEST_JSON
      ? { reporters: ['default', 'json'], outputFile: { json: process.env.GAUNTLET_TEST_JSON } }
      : {}),
  },
})
