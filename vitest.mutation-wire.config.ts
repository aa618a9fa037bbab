import { defineConfig } from 'vitest/config';
import base from './vitest.mutation.config.js';

/**
 * The test set for mutation runs of the wire layer (src/sgx, src/aesm, src/daemon/dispatcher.ts): their
 * direct tests only (test/sgx, test/aesm, the dispatcher's in-process tests test/daemon/dispatch*.test.ts), without the verifier's
 * end-to-end tests, which also parse quotes and would run for nearly every src/sgx mutant, and without the
 * seeded fuzz tests and the hot-path differential test (2-6 s each for every mutant they cover; they
 * check "never throws anything else", the direct tests are what must catch a broken bound). A score
 * measured with it is a lower bound: the full set (vitest.mutation.config.ts) can only kill more. Use:
 *   SQH_MUTATION_TESTS=vitest.mutation-wire.config.ts npx stryker run --mutate 'src/sgx/**\/*.ts'
 */
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/sgx/**/*.test.ts', 'test/aesm/**/*.test.ts', 'test/daemon/dispatch*.test.ts'],
    exclude: ['test/aesm/generated.test.ts', 'test/sgx/fuzz.test.ts', 'test/aesm/fuzz.test.ts', 'test/aesm/hot-path.test.ts'],
  },
});
