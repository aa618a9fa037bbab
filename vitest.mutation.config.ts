import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

/**
 * The tests Stryker runs against each mutant (`npm run test:mutation`, docs/mutation-testing.md): the
 * in-process tests of the mutated layers. Left out: tests that only spawn processes (the CLI tests,
 * whose children never see the active mutant; the `buf generate` check of src/aesm/gen, which is not
 * mutated) and the dcap-qvl differential test (28 s per run; it cross-checks, the direct tests in
 * test/verify/checks.test.ts are what must catch a broken check).
 *
 * Not `mergeConfig`: it concatenates arrays, so `include` would keep the base's `test/**` and run the
 * whole suite against every mutant.
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/verify/**/*.test.ts', 'test/sgx/**/*.test.ts', 'test/aesm/**/*.test.ts', 'test/daemon/dispatch.test.ts', 'test/daemon/dispatch-provider-faults.test.ts'],
    exclude: [
      'test/verify/cli.test.ts',
      'test/verify/cli-inputs.test.ts',
      'test/verify/differential.test.ts',
      'test/aesm/generated.test.ts',
    ],
  },
});
