import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ACCEPTED_STATUSES,
  QvResult,
  TCB_LEVEL_STATUSES,
  VerifyReasons,
  convergeWithQe,
  evaluatePolicy,
  qvResultFor,
  qvResultName,
  type VerificationResult,
} from '../../src/verify/index.js';
import { statusForFailure } from '../../src/verify/status.js';

describe("Intel's convergence table (spec §5.G step 4)", () => {
  // Rows: QE status; columns in TCB_LEVEL_STATUSES order. Transcribed from the spec table.
  const table: Record<string, string[]> = {
    UpToDate: ['UpToDate', 'SWHardeningNeeded', 'ConfigurationNeeded', 'ConfigurationAndSWHardeningNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'],
    OutOfDate: ['OutOfDate', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'OutOfDateConfigurationNeeded', 'OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked'],
    Revoked: Array(7).fill('Revoked'),
  };
  for (const [qe, row] of Object.entries(table)) {
    it(`QE ${qe}`, () => {
      TCB_LEVEL_STATUSES.forEach((platform, i) => {
        expect(convergeWithQe(platform, qe as 'UpToDate' | 'OutOfDate' | 'Revoked'), `${qe} × ${platform}`).toBe(row[i]);
      });
    });
  }
  it('without a QE identity the platform status stands', () => {
    for (const s of TCB_LEVEL_STATUSES) expect(convergeWithQe(s, undefined)).toBe(s);
  });
});

describe('sgx_ql_qv_result_t mapping (spec §5.H)', () => {
  it('maps statuses to the QvE codes', () => {
    expect(qvResultFor('UpToDate')).toBe(0);
    expect(qvResultFor('ConfigurationNeeded')).toBe(0xa001);
    expect(qvResultFor('OutOfDate')).toBe(0xa002);
    expect(qvResultFor('OutOfDateConfigurationNeeded')).toBe(0xa003);
    expect(qvResultFor('InvalidSignature')).toBe(0xa004);
    expect(qvResultFor('Revoked')).toBe(0xa005);
    expect(qvResultFor('TcbLevelNotSupported')).toBe(0xa006);
    expect(qvResultFor('SWHardeningNeeded')).toBe(0xa007);
    expect(qvResultFor('ConfigurationAndSWHardeningNeeded')).toBe(0xa008);
    expect(qvResultFor('TDRelaunchAdvised')).toBe(0xa009);
    expect(qvResultFor('TDRelaunchAdvisedConfigurationNeeded')).toBe(0xa00a);
    expect(qvResultName(QvResult.REVOKED)).toBe('SGX_QL_QV_RESULT_REVOKED');
  });
  it('gives every failure reason a status and code', () => {
    expect(statusForFailure('INVALID_QUOTE_SIGNATURE')).toBe('InvalidSignature');
    expect(statusForFailure('CRL_INVALID_SIGNATURE')).toBe('InvalidSignature');
    expect(statusForFailure('PCK_REVOKED')).toBe('Revoked');
    expect(statusForFailure('INTERMEDIATE_REVOKED')).toBe('Revoked');
    expect(statusForFailure('QE_TCB_NOT_SUPPORTED')).toBe('TcbLevelNotSupported');
    expect(statusForFailure('PCK_CHAIN_UNTRUSTED')).toBe('Invalid');
    for (const r of VerifyReasons) expect(qvResultFor(statusForFailure(r))).toBeGreaterThan(0);
  });
});

describe('policy', () => {
  const base: VerificationResult = {
    ok: true, status: 'UpToDate', qvResult: 0, qvResultName: 'SGX_QL_QV_RESULT_OK', advisoryIds: [], collateralExpired: false,
    expiredCollateral: [], simulated: false, verifiedAt: '2025-06-19T12:00:00.000Z', accepted: false, policyViolations: [],
    collateralEarliestIssue: '2025-06-19T10:00:00.000Z',
    enclave: { mrEnclave: 'aa'.repeat(32), mrSigner: 'bb'.repeat(32), isvProdId: 1, isvSvn: 5, attributes: '', miscSelect: 0, debug: false, reportData: '', configSvn: 0, cpuSvn: '' },
  };
  const codes = (r: Partial<VerificationResult>, p = {}) => evaluatePolicy({ ...base, ...r }, p).violations.map((v) => v.code);

  it('accepts the default statuses and rejects the rest', () => {
    for (const s of DEFAULT_ACCEPTED_STATUSES) expect(codes({ status: s })).toEqual([]);
    expect(codes({ status: 'OutOfDate' })).toEqual(['STATUS_NOT_ACCEPTED']);
    expect(codes({ status: 'SWHardeningNeeded' }, { acceptedStatuses: ['UpToDate'] })).toEqual(['STATUS_NOT_ACCEPTED']);
  });
  it('checks advisories, identity, SVN, debug and collateral age', () => {
    expect(codes({ advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00289'] }, { acceptedAdvisoryIds: ['intel-sa-00615'] })).toEqual(['ADVISORY_NOT_ACCEPTED']);
    expect(codes({}, { mrEnclave: 'AA'.repeat(32), mrSigner: ['cc'.repeat(32), 'bb'.repeat(32)], isvProdId: 1, minIsvSvn: 5 })).toEqual([]);
    expect(codes({}, { mrEnclave: 'ab'.repeat(32), mrSigner: 'cc'.repeat(32), isvProdId: 2, minIsvSvn: 6 })).toEqual([
      'MRENCLAVE_MISMATCH', 'MRSIGNER_MISMATCH', 'ISV_PROD_ID_MISMATCH', 'ISV_SVN_TOO_LOW',
    ]);
    const debug = { enclave: { ...base.enclave!, debug: true } };
    expect(codes(debug)).toEqual(['DEBUG_NOT_ALLOWED']);
    expect(codes(debug, { allowDebug: true })).toEqual([]);
    expect(codes({}, { maxCollateralAgeSeconds: 3600 })).toEqual(['COLLATERAL_TOO_OLD']);
    expect(codes({}, { maxCollateralAgeSeconds: 3 * 3600 })).toEqual([]);
    expect(codes({ collateralExpired: true, expiredCollateral: [{ item: 'pckCrl', reason: 'CRL_EXPIRED' }] })).toEqual(['COLLATERAL_EXPIRED']);
  });
  it('never accepts a failed verification', () => {
    expect(codes({ ok: false, reason: 'PCK_REVOKED', status: 'Revoked' }, { acceptedStatuses: ['Revoked'] })).toEqual(['VERIFICATION_FAILED']);
  });
});
