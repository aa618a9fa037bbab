import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseQuote } from '../../src/sgx/index.js';
import { tdIdentityOf } from '../../src/verify/identity.js';
import { VerificationError, VerifyReasons, qvResultFor, qvResultName, type VerifyReason } from '../../src/verify/index.js';
import { statusForFailure } from '../../src/verify/status.js';
import { TESTDATA } from '../support/testdata.js';

/**
 * What a result reports beyond ok/reason: the status and sgx_ql_qv_result_t of every failure reason (the
 * QvE's `status_error_to_ql_qve_result`, spec §5.H), the name of an unknown code, and the TD 1.5 fields of
 * a TD identity (written out from the spec's layout, not taken from src/sgx).
 */

describe('every failure reason has the status the QvE reports for it', () => {
  const signature: VerifyReason[] = ['INVALID_QUOTE_SIGNATURE', 'INVALID_QE_REPORT_SIGNATURE', 'CRL_INVALID_SIGNATURE', 'TCB_INFO_INVALID_SIGNATURE', 'QE_IDENTITY_INVALID_SIGNATURE'];
  const revoked: VerifyReason[] = ['PCK_REVOKED', 'INTERMEDIATE_REVOKED', 'TCB_SIGNING_CERT_REVOKED', 'TCB_REVOKED'];
  const notSupported: VerifyReason[] = ['TCB_NOT_SUPPORTED', 'QE_TCB_NOT_SUPPORTED', 'TDX_MODULE_TCB_NOT_SUPPORTED'];

  it('signature failures are InvalidSignature (0xa004)', () => {
    for (const r of signature) {
      expect(statusForFailure(r), r).toBe('InvalidSignature');
      expect(qvResultFor(statusForFailure(r))).toBe(0xa004);
    }
  });
  it('revocations are Revoked (0xa005)', () => {
    for (const r of revoked) expect(statusForFailure(r), r).toBe('Revoked');
  });
  it('a TCB below every level (platform, QE or TDX module) is TcbLevelNotSupported (0xa006)', () => {
    for (const r of notSupported) expect(statusForFailure(r), r).toBe('TcbLevelNotSupported');
  });
  it('every other reason is Invalid', () => {
    for (const r of VerifyReasons.filter((x) => ![...signature, ...revoked, ...notSupported].includes(x))) {
      expect(statusForFailure(r), r).toBe('Invalid');
    }
  });
  it('a code without a name is shown in hex', () => {
    expect(qvResultName(0xa0ff)).toBe('SGX_QL_QV_RESULT_0xa0ff');
    expect(qvResultName(0xa00a)).toBe('TEE_QV_RESULT_TD_RELAUNCH_ADVISED_CONFIG_NEEDED');
  });
  it('a verification error says what it is', () => {
    const e = new VerificationError('PCK_REVOKED', 'the PCK certificate is revoked');
    expect(e.name).toBe('VerificationError');
    expect(String(e)).toBe('VerificationError: the PCK certificate is revoked');
    expect(e.reason).toBe('PCK_REVOKED');
  });
});

describe('the TD identity of a TD 1.5 body (v5 quote) carries TEE_TCB_SVN_2 and MRSERVICETD', () => {
  // v5: header 48, body type 2, body size 4, then the TD 1.0 report (584) ‖ TEE_TCB_SVN_2 (16) ‖ MRSERVICETD (48).
  const BODY = 48 + 2 + 4;
  for (const f of ['dcap-qvl/tdx_quote_outdated', 'go-tdx-guest/quote_v5_sample.dat']) {
    it(f, () => {
      const raw = readFileSync(`${TESTDATA}/${f}`);
      const q = parseQuote(raw);
      expect(q.body.type).toBe('td15');
      const id = tdIdentityOf(q.body)!;
      expect(id.teeTcbSvn2).toBe(raw.subarray(BODY + 584, BODY + 600).toString('hex'));
      expect(id.mrServiceTd).toBe(raw.subarray(BODY + 600, BODY + 648).toString('hex'));
      expect(id.teeTcbSvn).toBe(raw.subarray(BODY, BODY + 16).toString('hex'));
    });
  }
  it('a TD 1.0 body (v4 quote) has neither', () => {
    const id = tdIdentityOf(parseQuote(readFileSync(`${TESTDATA}/dcap-qvl/tdx_quote`)).body)!;
    expect(id.mrTd).toMatch(/^[0-9a-f]{96}$/);
    expect('teeTcbSvn2' in id).toBe(false);
    expect('mrServiceTd' in id).toBe(false);
  });
});
