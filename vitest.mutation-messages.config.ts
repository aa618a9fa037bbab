import { defineConfig } from 'vitest/config';
import wire from './vitest.mutation-wire.config.js';

/**
 * The wire set (vitest.mutation-wire.config.ts) with the hot-path differential test put back, for mutation
 * runs of src/aesm/messages.ts: the daemon's direct GetQuoteEx decoder and one-pass reply encoder must give
 * exactly what the schema-based codec gives, and that test is what says so (a few seconds per mutant it
 * covers, which the other wire files do not need). Use:
 *   SQH_MUTATION_TESTS=vitest.mutation-messages.config.ts SQH_MUTATION_GROUP=messages npx stryker run stryker.wire.config.mjs --mutate src/aesm/messages.ts
 */
export default defineConfig({
  test: {
    ...wire.test,
    exclude: (wire.test?.exclude ?? []).filter((f) => f !== 'test/aesm/hot-path.test.ts'),
  },
});
