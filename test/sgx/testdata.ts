import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTDATA } from '../support/testdata.js';

/** Real quotes in test/fixtures/testdata (provenance in its PROVENANCE.md). */
export { TESTDATA };
export const td = (rel: string): Buffer => readFileSync(join(TESTDATA, rel));

export const QUOTE_FILES = [
  'dcap-qvl/sgx_quote',
  'dcap-qvl/tdx_quote',
  'dcap-qvl/tdx_quote_outdated',
  'mobilecoin/hw_quote.dat',
  'go-tdx-guest/tdx_prod_quote_SPR_E4.dat',
  'go-tdx-guest/quote_v5_sample.dat',
  'intel-qvl-sampledata/quote.dat',
  'intel-qvl-sampledata/tdx/quote.dat',
  'simulated/sim_quote.bin',
] as const;
