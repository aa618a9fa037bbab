import { fileURLToPath } from 'node:url';

/**
 * The project's copy of real quotes and collateral from public repositories (and one simulated set):
 * test/fixtures/testdata, with source, commit, path and licence of every file in its PROVENANCE.md.
 * Resolved from this file, so tests and the bench find it whatever the working directory.
 */
export const TESTDATA = fileURLToPath(new URL('../fixtures/testdata', import.meta.url));
