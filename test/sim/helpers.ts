import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimEnclaveIdentity } from '../../src/providers/sim/index.js';

/** A pinned clock: collateral windows and certificate validity are computed from it. */
export const NOW = new Date('2026-06-01T12:00:00Z');
/** Verification time: a little after the collateral was issued (dcap-qvl takes seconds). */
export const VERIFY_SECS = Math.floor(NOW.getTime() / 1000) + 600;

export function tempDir(prefix = 'sqh-sim-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A simulated application enclave: release (non-debug) attributes INIT|MODE64BIT, as dcap-qvl requires. */
export const APP: SimEnclaveIdentity = {
  mrEnclave: Buffer.alloc(32, 0xa1),
  mrSigner: Buffer.alloc(32, 0xb2),
  isvProdId: 7,
  isvSvn: 3,
  attributes: { flags: 0x05n, xfrm: 0xe7n },
};
