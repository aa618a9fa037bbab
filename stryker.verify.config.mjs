// Mutation runs of src/verify (docs/mutation-testing.md), one file group at a time:
//   SQH_MUTATION_GROUP=verifier npx stryker run stryker.verify.config.mjs --mutate src/verify/verifier.ts --concurrency 1
// The base configuration with the type check narrowed to src/verify (tsconfig.mutation-verify.json: the
// checker then re-checks ~40 files per mutant instead of the whole project, the tests are not type-checked;
// vitest strips types anyway) and a shorter absolute timeout (an endless loop is found in 10 s, not 30).
// With SQH_MUTATION_GROUP each group keeps its own incremental file and reports, so groups run one after
// another never overwrite each other's results.
import base, { groupOutputs } from './stryker.config.mjs';

export default {
  ...base,
  mutate: ['src/verify/**/*.ts'],
  tsconfigFile: 'tsconfig.mutation-verify.json',
  timeoutMS: 10_000,
  ...groupOutputs('verify'),
};
