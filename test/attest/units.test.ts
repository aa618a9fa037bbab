// Small pieces with exact rules: both base64 alphabets in, unpadded base64url out; MAA's policy-hash
// formula; claim JSON types as MAA consumers (Gramine, EGo, Key Vault) require them.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { base64url, decodeBinary, policyHash, sgxClaims } from '../../src/attest/index.js';
import { parseQuote } from '../../src/sgx/index.js';
import type { VerificationResult } from '../../src/verify/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TESTDATA } from '../support/testdata.js';

describe('decodeBinary', () => {
  const bytes = Buffer.from([0xfb, 0xff, 0xfe, 0x3e, 0x3f, 0x00, 0x01]);
  it('accepts base64 and base64url, padded or not, to the same bytes', () => {
    for (const s of [bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'), `${bytes.toString('base64url')}==`]) {
      expect(decodeBinary(s)?.equals(bytes), s).toBe(true);
    }
  });
  it('refuses mixed alphabets, bad padding, stray characters and non-canonical tails', () => {
    expect(decodeBinary('+_ab')).toBeUndefined();
    expect(decodeBinary('abc==')).toBeUndefined();
    expect(decodeBinary('ab c')).toBeUndefined();
    expect(decodeBinary('a')).toBeUndefined();
    expect(decodeBinary('QR')).toBeUndefined(); // 'QQ' is the canonical form of 0x41
    expect(decodeBinary('QQ')?.toString()).toBe('A');
  });
  it('emits unpadded base64url', () => {
    expect(base64url(bytes)).toBe('-__-Pj8AAQ');
  });
});

describe('policyHash', () => {
  it('is base64url(SHA-256(ASCII of base64url(UTF-8 text))), unpadded', () => {
    const text = 'version= 1.0;\nauthorizationrules { => permit(); };';
    const inner = Buffer.from(text, 'utf8').toString('base64url');
    const expected = createHash('sha256').update(Buffer.from(inner, 'ascii')).digest('base64url');
    expect(policyHash(text)).toBe(expected);
    expect(policyHash(text)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(policyHash(`${text} `)).not.toBe(expected);
  });
});

describe('sgxClaims', () => {
  it('has MAA names and JSON types: booleans, numbers, lowercase hex, "1.0", "sgx"', () => {
    const quoteBytes = readFileSync(join(TESTDATA, 'dcap-qvl/sgx_quote'));
    const quote = parseQuote(quoteBytes);
    const result = { simulated: false, status: 'UpToDate', advisoryIds: [] } as unknown as VerificationResult;
    const runtime = { bytes: Buffer.from([0xff, 0xfe, 0xfd]) };
    const c = sgxClaims({ issuer: 'https://a.test', quoteBytes, quote, result, runtime, policyHash: 'h', now: new Date(1_700_000_000_000), lifetimeSeconds: 28800 });
    expect(c).toMatchObject({ iss: 'https://a.test', iat: 1_700_000_000, nbf: 1_700_000_000, exp: 1_700_028_800, 'x-ms-ver': '1.0', 'x-ms-attestation-type': 'sgx', tee: 'sgx' });
    expect(typeof c['x-ms-sgx-is-debuggable']).toBe('boolean');
    expect(c['x-ms-sgx-is-debuggable']).toBe(c['is-debuggable']);
    expect(typeof c['x-ms-sgx-product-id']).toBe('number');
    expect(typeof c['x-ms-sgx-svn']).toBe('number');
    expect(c['x-ms-sgx-mrenclave']).toMatch(/^[0-9a-f]{64}$/);
    expect(c['x-ms-sgx-mrsigner']).toMatch(/^[0-9a-f]{64}$/);
    expect(c['x-ms-sgx-report-data']).toMatch(/^[0-9a-f]{128}$/);
    expect(c['x-ms-sgx-ehd']).toBe('__79');
    expect(c['maa-ehd']).toBe('__79');
    expect(c['aas-ehd']).toBe('__79');
    expect(c.jti).toMatch(/^[0-9a-f]{64}$/);
    expect((c['x-ms-sgx-collateral'] as Record<string, string>).quotehash).toBe(createHash('sha256').update(quoteBytes).digest('hex'));
    expect(c['x-sqh-simulated']).toBe(false);
  });
});
