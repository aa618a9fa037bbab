import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseEnclaveIdentity, parseTcbInfo, VerificationError } from '../../src/verify/index.js';
import { matchQeIdentity, platformStatus, type QeMatch } from '../../src/verify/tcb-match.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * SGX TCB level selection (spec §5.G, QVL checkTcbLevel), directly on Intel's real SGX TCB info: the
 * first level (highest first) whose 16 component SVNs and PCESVN are all at or below the platform's.
 * Its levels: L0 [11,11,2,2,255,1,12,0…] PCESVN 13 SWHardeningNeeded; L1 same but component 6 = 0,
 * ConfigurationAndSWHardeningNeeded; …; [5,5,2,2,255,1,4,0…] PCESVN 11 OutOfDate (2021-11-10); lowest PCESVN 5.
 */

const coll = JSON.parse(readFileSync(`${TESTDATA}/dcap-qvl/sgx_quote_collateral.json`, 'utf8')) as { tcb_info: string; qe_identity: string };
const INFO = parseTcbInfo(coll.tcb_info);
const QE_ID = parseEnclaveIdentity(coll.qe_identity);
const L0 = INFO.tcbLevels[0];
const comps = (edit: (c: number[]) => void = () => {}) => {
  const c = [...L0.sgxComponents];
  edit(c);
  return c;
};
const upToDateQe: QeMatch = { status: 'UpToDate', tcbDate: '2024-03-13T00:00:00Z', advisoryIds: [] };

function failure(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof VerificationError ? `${e.reason}: ${e.message}` : `untyped: ${String(e)}`;
  }
  return 'no failure';
}

describe('SGX platform TCB level', () => {
  it('a platform exactly at the newest level gets its status, advisories and date', () => {
    const o = platformStatus(INFO, { compSvns: comps(), pceSvn: 13 }, upToDateQe, undefined);
    expect(o).toEqual({ status: 'SWHardeningNeeded', platformStatus: 'SWHardeningNeeded', advisoryIds: ['INTEL-SA-00615'], tcbDates: ['2024-03-13T00:00:00Z', '2024-03-13T00:00:00Z'] });
  });

  it('one component below a level skips it (component 6 at 11 < 12 → the next level)', () => {
    const o = platformStatus(INFO, { compSvns: comps((c) => (c[6] = 11)), pceSvn: 13 }, upToDateQe, undefined);
    expect(o.status).toBe('ConfigurationAndSWHardeningNeeded');
    expect(o.advisoryIds).toEqual(['INTEL-SA-00289', 'INTEL-SA-00615']);
  });

  it('a PCESVN below a level skips it (PCESVN 12 < 13 → the first level with PCESVN ≤ 12)', () => {
    const o = platformStatus(INFO, { compSvns: comps(), pceSvn: 12 }, upToDateQe, undefined);
    expect(o.status).toBe('OutOfDate');
    expect(o.tcbDates[0]).toBe('2021-11-10T00:00:00Z');
  });

  it('below every level → TCB_NOT_SUPPORTED', () => {
    expect(failure(() => platformStatus(INFO, { compSvns: Array(16).fill(0), pceSvn: 13 }, upToDateQe, undefined)))
      .toBe('TCB_NOT_SUPPORTED: the PCK certificate TCB (component SVNs and PCESVN) is below every TCB level');
    expect(failure(() => platformStatus(INFO, { compSvns: comps(), pceSvn: 4 }, upToDateQe, undefined))).toMatch(/^TCB_NOT_SUPPORTED: /);
  });

  it('a QE below every QE identity level → QE_TCB_NOT_SUPPORTED, also for an SGX quote', () => {
    const qe: QeMatch = { status: 'NotSupported', tcbDate: '', advisoryIds: [] };
    expect(failure(() => platformStatus(INFO, { compSvns: comps(), pceSvn: 13 }, qe, undefined)))
      .toBe('QE_TCB_NOT_SUPPORTED: the QE ISV SVN is below every QE identity TCB level');
  });

  it('the platform level\'s and the QE level\'s advisories are both reported, once each', () => {
    const qe: QeMatch = { status: 'OutOfDate', tcbDate: '2023-01-01T00:00:00Z', advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00999'] };
    const o = platformStatus(INFO, { compSvns: comps(), pceSvn: 13 }, qe, undefined);
    expect(o.status).toBe('OutOfDate');
    expect(o.advisoryIds).toEqual(['INTEL-SA-00615', 'INTEL-SA-00999']);
    expect(o.tcbDates).toEqual(['2024-03-13T00:00:00Z', '2023-01-01T00:00:00Z']);
  });
});

describe('QE identity level outcome', () => {
  const qeFacts = { miscSelect: QE_ID.miscselect, attributes: Buffer.from(QE_ID.attributes), mrSigner: Buffer.from(QE_ID.mrsigner), isvProdId: QE_ID.isvprodid, isvSvn: 8 };
  const withStatus = (s: string) => ({ ...QE_ID, tcbLevels: QE_ID.tcbLevels.map((l, i) => (i === 0 ? { ...l, tcbStatus: s as 'Revoked' } : l)) });
  it('a Revoked QE level is Revoked; any other non-UpToDate status is OutOfDate', () => {
    expect(matchQeIdentity(withStatus('Revoked'), qeFacts).status).toBe('Revoked');
    expect(matchQeIdentity(withStatus('SWHardeningNeeded'), qeFacts).status).toBe('OutOfDate');
    expect(matchQeIdentity(QE_ID, { ...qeFacts, isvSvn: 7 })).toEqual({ status: 'OutOfDate', tcbDate: QE_ID.tcbLevels[1].tcbDate, advisoryIds: ['INTEL-SA-00615'] });
  });
});
