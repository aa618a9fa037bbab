// Mutation testing (docs/mutation-testing.md): `npm run test:mutation`, or one directory at a time with
// `npm run test:mutation -- --mutate 'src/verify/**/*.ts'`. Not part of .ci/run (too heavy for its budget).
/**
 * With SQH_MUTATION_GROUP=<name>, a run's own incremental file, reports and sandbox (`<prefix>-<name>`),
 * so file groups run one after another (or side by side) never overwrite each other's results.
 */
export function groupOutputs(prefix) {
  const group = process.env.SQH_MUTATION_GROUP;
  if (!group) return {};
  return {
    incrementalFile: `reports/mutation/${prefix}-${group}-incremental.json`,
    htmlReporter: { fileName: `reports/mutation/${prefix}-${group}.html` },
    jsonReporter: { fileName: `reports/mutation/${prefix}-${group}.json` },
    tempDirName: `.stryker-tmp-${prefix}-${group}`,
  };
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // SQH_MUTATION_TESTS=vitest.mutation-unit.config.ts: only the direct unit tests (a lower-bound score, much faster).
  vitest: { configFile: process.env.SQH_MUTATION_TESTS ?? 'vitest.mutation.config.ts' },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  // Module-level constants run at import, so their mutants need every test; they are listed as ignored.
  ignoreStatic: true,
  mutate: [
    'src/verify/**/*.ts',
    'src/sgx/**/*.ts',
    'src/aesm/**/*.ts',
    '!src/aesm/gen/**',
    'src/daemon/dispatcher.ts',
  ],
  // Two cores are shared on the development machine; raise with --concurrency where there are more.
  concurrency: 2,
  timeoutMS: 30_000,
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: '.stryker-tmp',
  // Other runs' sandboxes (side-by-side runs use their own --tempDirName) and reports are not project files.
  ignorePatterns: ['.stryker-tmp*', 'reports'],
  cleanTempDir: 'always',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
};
