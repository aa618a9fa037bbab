import { describe, expect, it } from 'vitest';
import { evaluatePolicy, type Policy, type TdIdentityResult, type VerificationResult } from '../../src/verify/index.js';

/**
 * The relying party's rules (evaluatePolicy) one at a time, on hand-made results: each rule must say no
 * when its fact is wrong or missing, and only then. The SGX/TDX split matters: an SGX rule given a TDX
 * result (no `enclave`) must fail, not pass for lack of something to compare.
 */

const SGX: VerificationResult = {
  ok: true, status: 'UpToDate', qvResult: 0, qvResultName: 'SGX_QL_QV_RESULT_OK', advisoryIds: [], collateralExpired: false,
  expiredCollateral: [], simulated: false, verifiedAt: '2025-06-19T12:00:00.000Z', accepted: false, policyViolations: [],
  collateralEarliestIssue: '2025-06-19T10:00:00.000Z',
  enclave: { mrEnclave: 'aa'.repeat(32), mrSigner: 'bb'.repeat(32), isvProdId: 1, isvSvn: 5, attributes: '', miscSelect: 0, debug: false, reportData: '', configSvn: 0, cpuSvn: '' },
};
const TD: TdIdentityResult = {
  teeTcbSvn: '', mrSeam: '', mrSignerSeam: '', seamAttributes: '', tdAttributes: '', xfam: '', mrTd: 'dd'.repeat(48),
  mrConfigId: '', mrOwner: '', mrOwnerConfig: '', rtMr: [], reportData: '', debug: false,
};
const { enclave: _sgxOnly, ...noEnclave } = SGX;
const TDX: VerificationResult = { ...noEnclave, teeType: 'TDX', td: TD };

const verdict = (r: Partial<VerificationResult>, p: Policy = {}, base = SGX) => evaluatePolicy({ ...base, ...r }, p);
const codes = (r: Partial<VerificationResult>, p: Policy = {}, base = SGX) => verdict(r, p, base).violations.map((v) => v.code);

describe('policy verdict', () => {
  it('accepted is true exactly when there is no violation', () => {
    expect(verdict({})).toEqual({ accepted: true, violations: [] });
    const no = verdict({ status: 'OutOfDate' });
    expect(no.accepted).toBe(false);
    expect(no.violations).toHaveLength(1);
    expect(no.violations[0].message).toMatch(/status OutOfDate is not in the accepted statuses \(UpToDate, /);
  });

  it('a failed verification is only VERIFICATION_FAILED, naming the reason, whatever else the policy allows', () => {
    const v = verdict({ ok: false, reason: 'CRL_INVALID_SIGNATURE', status: 'InvalidSignature', enclave: { ...SGX.enclave!, debug: true } }, { acceptedStatuses: ['InvalidSignature'] });
    expect(v.accepted).toBe(false);
    expect(v.violations).toEqual([{ code: 'VERIFICATION_FAILED', message: 'verification failed: CRL_INVALID_SIGNATURE' }]);
  });

  it('relaunch advice and failure classes are not accepted by default', () => {
    for (const status of ['OutOfDateConfigurationNeeded', 'Revoked', 'TDRelaunchAdvised', 'TDRelaunchAdvisedConfigurationNeeded'] as const) {
      expect(codes({ status }, {}, TDX), status).toEqual(['STATUS_NOT_ACCEPTED']);
    }
    expect(codes({ status: 'TDRelaunchAdvised' }, { acceptedStatuses: ['TDRelaunchAdvised'] }, TDX)).toEqual([]);
  });

  it('acceptedAdvisoryIds: every advisory must be listed (any case); an empty list accepts none', () => {
    expect(codes({ advisoryIds: ['INTEL-SA-00615'] }, { acceptedAdvisoryIds: ['Intel-SA-00615'] })).toEqual([]);
    expect(codes({ advisoryIds: ['INTEL-SA-00615'] }, { acceptedAdvisoryIds: [] })).toEqual(['ADVISORY_NOT_ACCEPTED']);
    expect(verdict({ advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00289'] }, { acceptedAdvisoryIds: ['INTEL-SA-00615'] }).violations[0].message)
      .toBe('advisory IDs not accepted: INTEL-SA-00289');
    expect(codes({ advisoryIds: [] }, { acceptedAdvisoryIds: [] })).toEqual([]);
  });
});

describe('SGX identity rules', () => {
  it('expected values match in any case, as one value or a list', () => {
    expect(codes({}, { mrEnclave: ['cc'.repeat(32), 'AA'.repeat(32)], mrSigner: 'BB'.repeat(32) })).toEqual([]);
    expect(codes({}, { mrEnclave: [] })).toEqual(['MRENCLAVE_MISMATCH']);
  });

  it('ISV SVN: equal to the minimum passes, one below fails', () => {
    expect(codes({}, { minIsvSvn: 5 })).toEqual([]);
    expect(codes({}, { minIsvSvn: 6 })).toEqual(['ISV_SVN_TOO_LOW']);
    expect(codes({}, { minIsvSvn: 0 })).toEqual([]);
  });

  it('on a TDX result (no enclave) every SGX rule fails and says why', () => {
    const v = verdict({}, { mrEnclave: 'aa'.repeat(32), mrSigner: 'bb'.repeat(32), isvProdId: 1, minIsvSvn: 0 }, TDX);
    expect(v.violations.map((x) => x.code)).toEqual(['MRENCLAVE_MISMATCH', 'MRSIGNER_MISMATCH', 'ISV_PROD_ID_MISMATCH', 'ISV_SVN_TOO_LOW']);
    expect(v.violations[0].message).toMatch(/not an SGX quote/);
    expect(v.violations[1].message).toMatch(/not an SGX quote/);
  });
});

describe('TDX identity rules', () => {
  it('mrTd: expected value(s) in any case', () => {
    expect(codes({}, { mrTd: 'DD'.repeat(48) }, TDX)).toEqual([]);
    expect(codes({}, { mrTd: ['ee'.repeat(48), 'dd'.repeat(48)] }, TDX)).toEqual([]);
    expect(codes({}, { mrTd: 'ee'.repeat(48) }, TDX)).toEqual(['MRTD_MISMATCH']);
  });

  it('mrTd on an SGX result (no td) fails', () => {
    const v = verdict({}, { mrTd: 'dd'.repeat(48) });
    expect(v.violations.map((x) => x.code)).toEqual(['MRTD_MISMATCH']);
    expect(v.violations[0].message).toMatch(/not a TDX quote/);
  });

  it('a debuggable TD is refused unless allowDebug', () => {
    const debugTd = { td: { ...TD, debug: true } };
    expect(codes(debugTd, {}, TDX)).toEqual(['DEBUG_NOT_ALLOWED']);
    expect(codes(debugTd, { allowDebug: true }, TDX)).toEqual([]);
    expect(codes({}, {}, TDX)).toEqual([]);
  });
});

describe('collateral rules', () => {
  const expired = { collateralExpired: true, expiredCollateral: [{ item: 'pckCrl', reason: 'CRL_EXPIRED' as const }, { item: 'tcbInfo', reason: 'TCB_INFO_EXPIRED' as const }] };

  it('expired collateral is refused unless allowExpiredCollateral, and the message names every item', () => {
    const v = verdict(expired);
    expect(v.violations).toEqual([{ code: 'COLLATERAL_EXPIRED', message: 'collateral expired: pckCrl (CRL_EXPIRED), tcbInfo (TCB_INFO_EXPIRED)' }]);
    expect(codes(expired, { allowExpiredCollateral: true })).toEqual([]);
  });

  it('maxCollateralAgeSeconds: exactly that old passes, a second older fails; the age is from verifiedAt', () => {
    // earliest issue 10:00, verified at 12:00: 7200 s old.
    expect(codes({}, { maxCollateralAgeSeconds: 7200 })).toEqual([]);
    expect(codes({}, { maxCollateralAgeSeconds: 7199 })).toEqual(['COLLATERAL_TOO_OLD']);
    expect(verdict({}, { maxCollateralAgeSeconds: 7199 }).violations[0].message).toBe('collateral issued 2025-06-19T10:00:00.000Z is 7200 s old (max 7199 s)');
  });

  it('maxCollateralAgeSeconds: an explicit now is used instead of verifiedAt', () => {
    const r = { ...SGX };
    expect(evaluatePolicy(r, { maxCollateralAgeSeconds: 3600 }, new Date('2025-06-19T10:30:00Z')).accepted).toBe(true);
    expect(evaluatePolicy(r, { maxCollateralAgeSeconds: 3600 }, new Date('2025-06-19T11:30:00Z')).violations.map((v) => v.code)).toEqual(['COLLATERAL_TOO_OLD']);
  });

  it('maxCollateralAgeSeconds without a known issue date imposes nothing', () => {
    const { collateralEarliestIssue: _unknown, ...r } = SGX;
    expect(evaluatePolicy(r, { maxCollateralAgeSeconds: 1 }).accepted).toBe(true);
  });
});

describe('trailing data', () => {
  it('non-zero bytes after the quote fail only with rejectNonZeroTrailingData; zero padding always passes', () => {
    const junk = { trailingDataLength: 7, trailingDataAllZero: false };
    expect(codes(junk)).toEqual([]);
    const v = verdict(junk, { rejectNonZeroTrailingData: true });
    expect(v.violations).toEqual([{ code: 'TRAILING_DATA', message: "7 non-zero bytes follow the quote's signature data (another quote or appended data?)" }]);
    expect(codes({ trailingDataLength: 64, trailingDataAllZero: true }, { rejectNonZeroTrailingData: true })).toEqual([]);
    expect(codes({}, { rejectNonZeroTrailingData: true })).toEqual([]);
  });
});
