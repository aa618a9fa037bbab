import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests Stryker runs against each mutant (`npm run test:mutation`, docs/mutation-testing.md): the
 * in-process tests of the mutated layers. Left out: tests that only drive the built CLI (dist/, never
 * the mutated source) and the dcap-qvl differential test (28 s per run; it cross-checks, the direct
 * tests in test/verify/checks.test.ts are what must catch a broken check).
 */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/verify/**/*.test.ts', 'test/sgx/**/*.test.ts', 'test/aesm/**/*.test.ts', 'test/daemon/dispatch.test.ts'],
      exclude: ['test/verify/cli.test.ts', 'test/verify/differential.test.ts'],
    },
  }),
);
