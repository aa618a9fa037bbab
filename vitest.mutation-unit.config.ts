import { defineConfig } from 'vitest/config';
import base from './vitest.mutation.config.js';

/**
 * A lighter test set for mutation runs of the verifier's pure parts (policy, statuses, the collateral
 * JSON parsers): only their direct unit tests, without the end-to-end verifier tests whose simulated
 * platform is rebuilt for every mutant. A score measured with it is a lower bound: the full set
 * (vitest.mutation.config.ts) can only kill more. Use:
 *   SQH_MUTATION_TESTS=vitest.mutation-unit.config.ts npx stryker run --mutate src/verify/policy.ts
 */
export default defineConfig({
  test: {
    ...base.test,
    include: [
      'test/verify/policy.test.ts',
      'test/verify/status.test.ts',
      'test/verify/collateral-json.test.ts',
      'test/verify/tdx-status.test.ts',
      'test/verify/qe-match.test.ts',
      'test/verify/crl.test.ts',
      'test/verify/crl-extensions.test.ts',
      'test/verify/sgx-status.test.ts',
    ],
    exclude: [],
  },
});
