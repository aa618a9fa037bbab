// Mutation runs of the wire layer (src/sgx, src/aesm, src/daemon/dispatcher.ts), docs/mutation-testing.md:
//   npx stryker run stryker.wire.config.mjs --mutate src/aesm/framing.ts
// The base configuration with the wire layer's direct tests (vitest.mutation-wire.config.ts) and a
// type-check scope of just these directories (tsconfig.mutation-wire.json): on the shared 2-core machine
// the TypeScript checker, judging each mutant against the whole project, took most of the time.
// With SQH_MUTATION_GROUP=<name> a run keeps its own incremental file and reports (as stryker.verify.config.mjs).
import base, { groupOutputs } from './stryker.config.mjs';

export default {
  ...base,
  // SQH_MUTATION_TESTS=vitest.mutation-messages.config.ts: the same with the hot-path differential test (for src/aesm/messages.ts).
  vitest: { configFile: process.env.SQH_MUTATION_TESTS ?? 'vitest.mutation-wire.config.ts' },
  tsconfigFile: 'tsconfig.mutation-wire.json',
  mutate: ['src/sgx/**/*.ts', 'src/aesm/**/*.ts', '!src/aesm/gen/**', 'src/daemon/dispatcher.ts'],
  concurrency: 1,
  timeoutMS: 5_000,
  incrementalFile: 'reports/mutation/wire-incremental.json',
  tempDirName: '.stryker-tmp-wire',
  ...groupOutputs('wire'),
};
