import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import type { Collateral, CollateralSource } from '../../src/pcs/types.js';
import { parseQuote } from '../../src/sgx/index.js';
import { VerifierConfigError, VerifyReasons, createVerifier, verifyQuote, type VerificationResult } from '../../src/verify/index.js';
import { TESTDATA as TD } from '../support/testdata.js';

const QUOTE = readFileSync(`${TD}/dcap-qvl/sgx_quote`);
const COLL = parseCollateralBundle(readFileSync(`${TD}/dcap-qvl/sgx_quote_collateral.json`));
const NOW = new Date('2025-06-19T11:56:00Z');

function expectFailure(r: VerificationResult, reason: string) {
  expect(r.ok).toBe(false);
  expect(r.reason).toBe(reason);
  expect(VerifyReasons).toContain(r.reason);
  expect(typeof r.message).toBe('string');
  expect(r.accepted).toBe(false);
  expect(r.enclave).toBeUndefined();
}

describe('bad input gives a typed failure, never an exception', () => {
  const v = createVerifier({ collateral: COLL, now: NOW });

  it('truncated and garbage quotes → QUOTE_FORMAT', async () => {
    for (const n of [0, 1, 47, 48, 431, 432, 436, 1019, 1020, 2000, QUOTE.length - 1]) {
      expectFailure(await v.verify(QUOTE.subarray(0, n)), 'QUOTE_FORMAT');
    }
    let seed = 7;
    for (let i = 0; i < 50; i++) {
      const junk = Buffer.alloc(64 + i * 97);
      for (let j = 0; j < junk.length; j++) junk[j] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16;
      const r = await v.verify(junk);
      expect(r.ok).toBe(false);
      expect(VerifyReasons).toContain(r.reason);
    }
  });

  it('garbage or wrong collateral fields → the reason naming that field', async () => {
    const cases: Array<[Partial<Collateral>, string]> = [
      [{ rootCaCrl: Buffer.from('not a crl') }, 'CRL_FORMAT'],
      [{ pckCrl: Buffer.alloc(0) }, 'CRL_FORMAT'],
      [{ pckCrl: COLL.rootCaCrl }, 'CRL_UNKNOWN_ISSUER'],
      [{ tcbInfoBody: 'not json' }, 'TCB_INFO_FORMAT'],
      [{ tcbInfoBody: '{"id":"SGX","version":3}' }, 'TCB_INFO_FORMAT'],
      [{ tcbInfoBody: COLL.tcbInfoBody.replace('"tcbType":0', '"tcbType":1') }, 'TCB_INFO_FORMAT'],
      // Whitespace outside strings is allowed (the compact form verifies, as in QVL); a changed value is not.
      [{ tcbInfoBody: COLL.tcbInfoBody.replace('"tcbStatus":"SWHardeningNeeded"', '"tcbStatus":"OutOfDate"') }, 'TCB_INFO_INVALID_SIGNATURE'],
      [{ tcbInfoSignature: Buffer.alloc(10) }, 'TCB_INFO_INVALID_SIGNATURE'],
      [{ tcbInfoIssuerChain: '' }, 'TCB_SIGNING_CHAIN_FORMAT'],
      [{ tcbInfoIssuerChain: COLL.pckCrlIssuerChain }, 'TCB_SIGNING_CHAIN_INVALID'],
      [{ qeIdentityBody: '[]' }, 'QE_IDENTITY_FORMAT'],
      [{ qeIdentityBody: COLL.qeIdentityBody.replace('"version":2', '"version":3') }, 'QE_IDENTITY_FORMAT'],
      [{ qeIdentitySignature: COLL.tcbInfoSignature }, 'QE_IDENTITY_INVALID_SIGNATURE'],
      [{ pckCrlIssuerChain: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, 'COLLATERAL_FORMAT'],
    ];
    for (const [patch, reason] of cases) {
      const r = await verifyQuote(QUOTE, { collateral: { ...COLL, ...patch }, now: NOW });
      expectFailure(r, reason);
    }
  });

  it('collateral of the wrong kind → TCB_INFO_MISMATCH', async () => {
    const tdx = parseCollateralBundle(readFileSync(`${TD}/dcap-qvl/tdx_quote_collateral.json`));
    // The TDX set's PCK CRL is the Platform CA's: the CRL check (§5.C4) comes first.
    expectFailure(await verifyQuote(QUOTE, { collateral: tdx, now: NOW }), 'CRL_UNKNOWN_ISSUER');
    const tdxWithOurCrls = { ...tdx, pckCrl: COLL.pckCrl, rootCaCrl: COLL.rootCaCrl };
    const m = await verifyQuote(QUOTE, { collateral: tdxWithOurCrls, now: NOW });
    expectFailure(m, 'TCB_INFO_MISMATCH');
    expect(m.message).toMatch(/TCB info is for TDX/);
    const mc = parseCollateralBundle(readFileSync(`${TD}/mobilecoin/collateral_dcap_qvl_format.json`));
    const r = await verifyQuote(QUOTE, { collateral: mc, now: NOW });
    expect(r.ok).toBe(false); // stale CRL aside, the FMSPC differs
    expect(r.reason).toBe('TCB_INFO_MISMATCH');
  });

  it('an expired CRL only sets the flag; the default policy rejects it', async () => {
    const r = await verifyQuote(QUOTE, { collateral: COLL, now: new Date('2025-07-25T00:00:00Z') });
    expect(r.ok).toBe(true);
    expect(r.collateralExpired).toBe(true);
    expect(r.expiredCollateral.some((x) => x.reason === 'CRL_EXPIRED')).toBe(true);
    expect(r.policyViolations.map((p) => p.code)).toContain('COLLATERAL_EXPIRED');
  });

  it('missing collateral, failing and stale sources', async () => {
    expectFailure(await verifyQuote(QUOTE, { now: NOW }), 'COLLATERAL_MISSING');
    const failing: CollateralSource = { get: async () => { throw new Error('connection refused'); } };
    const r = await verifyQuote(QUOTE, { source: failing, now: NOW });
    expectFailure(r, 'COLLATERAL_UNAVAILABLE');
    expect(r.message).toMatch(/connection refused/);
    const seen: unknown[] = [];
    const stale: CollateralSource = { get: async (q) => (seen.push(q), { ...COLL, stale: true }) };
    const s = await verifyQuote(QUOTE, { source: stale, now: NOW });
    expect(s.ok).toBe(true);
    expect(s.collateralStale).toBe(true);
    expect(seen).toEqual([{ fmspc: '00A067110000', ca: 'processor', tee: 'SGX' }]);
  });

  it('a quote without a PCK chain needs one in the collateral', async () => {
    const q = parseQuote(QUOTE);
    q.qe.certificationData = { type: 4, data: Buffer.alloc(8) } as never;
    const { encodeQuote } = await import('../../src/sgx/index.js');
    const bare = encodeQuote(q);
    expectFailure(await verifyQuote(bare, { collateral: COLL, now: NOW }), 'CERTIFICATION_DATA_UNSUPPORTED');
    const chain = (parseQuote(QUOTE).qe.certificationData as { pemChain: string }).pemChain;
    const r = await verifyQuote(bare, { collateral: { ...COLL, pckCertificateChain: chain }, now: NOW });
    expect(r.status).toBe('ConfigurationAndSWHardeningNeeded');
  });

  it('accepts an already parsed quote', async () => {
    expect((await v.verify(parseQuote(QUOTE))).status).toBe('ConfigurationAndSWHardeningNeeded');
  });

  it('bad trusted roots are a typed configuration error', () => {
    expect(() => createVerifier({ trustedRoots: [Buffer.from('garbage')] })).toThrow(VerifierConfigError);
    expect(() => createVerifier({ trustedRoots: [''] })).toThrow(VerifierConfigError);
    const leaf = (parseQuote(QUOTE).qe.certificationData as { certificatesPem: string[] }).certificatesPem[0];
    expect(() => createVerifier({ trustedRoots: [leaf] })).toThrow(/not self-signed/);
    return expect(createVerifier().verify(QUOTE, { now: new Date('not a date') })).rejects.toBeInstanceOf(VerifierConfigError);
  });

  it('flipping any single bit of the signed quote range fails a signature check', async () => {
    const reasons = new Set<string>();
    for (let i = 0; i < 432; i += 7) {
      const q = Buffer.from(QUOTE);
      q[i] ^= 0x10;
      const r = await v.verify(q);
      expect(r.ok, `byte ${i}`).toBe(false);
      reasons.add(r.reason as string);
    }
    expect([...reasons].every((x) => ['INVALID_QUOTE_SIGNATURE', 'QUOTE_FORMAT'].includes(x))).toBe(true);
  });
});
