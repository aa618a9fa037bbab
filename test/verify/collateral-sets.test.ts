import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import type { Collateral } from '../../src/pcs/types.js';
import { CollateralSets } from '../../src/verify/collateral-sets.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * The verifier's collateral-set cache directly, on Intel's real collateral: an ill-typed set gets no set
 * (the verifier then reports COLLATERAL_FORMAT), a PCK chain given in the collateral is kept in the copy.
 */

const REAL = parseCollateralBundle(readFileSync(`${TESTDATA}/dcap-qvl/sgx_quote_collateral.json`)) as Collateral;

describe('CollateralSets', () => {
  it('every text field must be a string and every byte field a Uint8Array; pckCertificateChain may be absent', () => {
    const sets = new CollateralSets(8);
    expect(sets.lookup({ ...REAL })).toBeDefined();
    for (const f of ['teeType', 'pckCrlIssuerChain', 'tcbInfoIssuerChain', 'tcbInfoBody', 'qeIdentityIssuerChain', 'qeIdentityBody', 'pckCertificateChain']) {
      expect(sets.lookup({ ...REAL, [f]: 42 } as unknown as Collateral), f).toBeUndefined();
    }
    for (const f of ['rootCaCrl', 'pckCrl', 'tcbInfoSignature', 'qeIdentitySignature']) {
      expect(sets.lookup({ ...REAL, [f]: 'bytes' } as unknown as Collateral), f).toBeUndefined();
      expect(sets.lookup({ ...REAL, [f]: undefined } as unknown as Collateral), f).toBeUndefined();
    }
    expect(sets.lookup({ ...REAL, tcbInfoBody: undefined } as unknown as Collateral)).toBeUndefined();
  });

  it('a PCK chain in the collateral is kept in the private copy; none stays none', () => {
    const sets = new CollateralSets(8);
    const chain = '-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n';
    expect(sets.lookup({ ...REAL, pckCertificateChain: chain })!.collateral.pckCertificateChain).toBe(chain);
    const none = sets.lookup({ ...REAL, pckCertificateChain: undefined })!;
    expect(none.collateral.pckCertificateChain).toBeUndefined();
  });
});
