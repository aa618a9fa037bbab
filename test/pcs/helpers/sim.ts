import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SimPlatform } from '../../../src/providers/sim/index.js';

/** A fresh simulated platform in a temp state dir, and a quote from a simulated (non-debug) enclave. */
export async function newSimPlatform(now: Date): Promise<{ platform: SimPlatform; stateDir: string }> {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'sqh-pcs-sim-')), 'state');
  const platform = await SimPlatform.init({ stateDir, now });
  return { platform, stateDir };
}

export function simQuote(platform: SimPlatform, reportData = Buffer.from('collateral e2e')): Buffer {
  const qe = platform.quotingEnclave();
  const report = platform.ereport({
    targetInfo: qe.targetInfo,
    reportData,
    mrEnclave: Buffer.alloc(32, 0xaa),
    mrSigner: Buffer.alloc(32, 0xbb),
    isvProdId: 1,
    isvSvn: 1,
    attributes: { flags: 0x05n, xfrm: 0x03n }, // INIT | MODE64BIT, not DEBUG (dcap-qvl rejects debug enclaves)
  });
  return qe.quote(report).quote;
}
