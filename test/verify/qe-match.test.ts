import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnclaveIdentity, VerificationError } from '../../src/verify/index.js';
import { matchQeIdentity } from '../../src/verify/tcb-match.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * The QE report against Intel's real QE identity (spec §5.F.10), directly: the QE facts below are the
 * identity's own values, so each case changes one of them. End to end (re-signed collateral) the same
 * checks are in test/verify/checks.test.ts.
 */
const ID = parseEnclaveIdentity((JSON.parse(readFileSync(`${TESTDATA}/dcap-qvl/sgx_quote_collateral.json`, 'utf8')) as { qe_identity: string }).qe_identity);
const QE = { miscSelect: ID.miscselect, attributes: Buffer.from(ID.attributes), mrSigner: Buffer.from(ID.mrsigner), isvProdId: ID.isvprodid, isvSvn: ID.tcbLevels[0].isvsvn };

function reasonOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof VerificationError ? `${e.reason}: ${e.message}` : `untyped: ${String(e)}`;
  }
  return undefined;
}

describe('QE report vs QE identity', () => {
  it('the identity\'s own values match, at its newest level', () => {
    expect(matchQeIdentity(ID, QE)).toEqual({ status: 'UpToDate', tcbDate: ID.tcbLevels[0].tcbDate, advisoryIds: ID.tcbLevels[0].advisoryIds });
  });

  it('Intel\'s QE MRSIGNER contains a zero byte; it is still compared (only an all-zero MRSIGNER means "not given")', () => {
    expect(ID.mrsigner.includes(0)).toBe(true);
    const other = Buffer.from(QE.mrSigner);
    other[0] ^= 0xff;
    expect(reasonOf(() => matchQeIdentity(ID, { ...QE, mrSigner: other }))).toMatch(/^QE_IDENTITY_MISMATCH: QE MRSIGNER/);
    expect(matchQeIdentity({ ...ID, mrsigner: Buffer.alloc(32) }, { ...QE, mrSigner: other }).status).toBe('UpToDate');
  });

  it('MISCSELECT and ATTRIBUTES are compared under the masks', () => {
    expect(reasonOf(() => matchQeIdentity(ID, { ...QE, miscSelect: 1 }))).toMatch(/^QE_IDENTITY_MISMATCH: QE MISCSELECT/);
    expect(matchQeIdentity({ ...ID, miscselectMask: 0xfffffffe }, { ...QE, miscSelect: 1 }).status).toBe('UpToDate');
    const attrs = Buffer.from(QE.attributes);
    attrs[0] ^= 0x02; // DEBUG: inside the mask
    expect(reasonOf(() => matchQeIdentity(ID, { ...QE, attributes: attrs }))).toMatch(/^QE_IDENTITY_MISMATCH: QE ATTRIBUTES/);
    const outside = Buffer.from(QE.attributes);
    outside[15] ^= 0xff; // XFRM high bytes: outside the mask
    expect(matchQeIdentity(ID, { ...QE, attributes: outside }).status).toBe('UpToDate');
  });

  it('ISVPRODID must be equal; ISVSVN picks the first level at or below it', () => {
    expect(reasonOf(() => matchQeIdentity(ID, { ...QE, isvProdId: QE.isvProdId + 1 }))).toMatch(/^QE_IDENTITY_MISMATCH: QE ISV prod id/);
    const last = ID.tcbLevels[ID.tcbLevels.length - 1];
    expect(matchQeIdentity(ID, { ...QE, isvSvn: last.isvsvn }).tcbDate).toBe(last.tcbDate);
    expect(matchQeIdentity(ID, { ...QE, isvSvn: last.isvsvn - 1 }).status).toBe('NotSupported');
    expect(matchQeIdentity(ID, { ...QE, isvSvn: 0xffff }).status).toBe('UpToDate');
  });
});
