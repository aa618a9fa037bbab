import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Shared real quotes (../shared/testdata, read-only, provenance in its PROVENANCE.md). */
export const TESTDATA = join(process.cwd(), '..', 'shared', 'testdata');
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

/** Deterministic PRNG (mulberry32) so a failing fuzz case can be reproduced from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
