import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CertificateCache } from '../../src/verify/certificate.js';
import { parseChain } from '../../src/verify/chain.js';
import { VerificationError } from '../../src/verify/index.js';
import { SignatureMemo, verifyP1363 } from '../../src/verify/signature-memo.js';
import { TESTDATA } from '../support/testdata.js';
import { pemList } from './forge.js';

/**
 * A chain with a certificate that does not parse is a *_FORMAT failure naming the certificate; a
 * signature check with a key that node:crypto cannot use for ECDSA-SHA256 (it throws) is a failed check,
 * never a pass, with or without the signature memo.
 */

const REAL_CHAIN = pemList(readFileSync(`${TESTDATA}/intel-qvl-sampledata/pckSignChain.pem`, 'utf8'));

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof VerificationError ? `${e.reason}: ${e.message}` : `untyped: ${String(e)}`;
  }
  return 'no failure';
}

describe('parseChain', () => {
  it('a real chain parses, in order', async () => {
    const chain = await parseChain(REAL_CHAIN.join('\n'), REAL_CHAIN.length, new CertificateCache(), 'PCK_CHAIN_FORMAT', 'PCK certificate chain');
    expect(chain).toHaveLength(REAL_CHAIN.length);
    expect(chain[chain.length - 1].subjectCN).toBe('Intel SGX Root CA');
  });

  it('a certificate that does not parse → the format reason, naming the certificate', async () => {
    const broken = [...REAL_CHAIN];
    broken[1] = '-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----';
    expect(await failure(parseChain(broken.join('\n'), broken.length, new CertificateCache(), 'PCK_CHAIN_FORMAT', 'PCK certificate chain')))
      .toMatch(/^PCK_CHAIN_FORMAT: PCK certificate chain certificate 1: /);
  });

  it('the wrong number of certificates → the format reason with the count', async () => {
    expect(await failure(parseChain(REAL_CHAIN.slice(1).join('\n'), REAL_CHAIN.length, new CertificateCache(), 'TCB_SIGNING_CHAIN_FORMAT', 'TCB info issuer chain')))
      .toBe(`TCB_SIGNING_CHAIN_FORMAT: TCB info issuer chain has ${REAL_CHAIN.length - 1} certificates, expected exactly ${REAL_CHAIN.length}`);
  });
});

describe('ECDSA-P256 verification never passes on an error', () => {
  const data = Buffer.from('QE report');
  it('a key node:crypto cannot verify ECDSA-SHA256 with (Ed25519: it throws) → false', () => {
    const ed = generateKeyPairSync('ed25519').publicKey;
    expect(verifyP1363(data, ed, Buffer.alloc(64))).toBe(false);
    const spki = ed.export({ format: 'der', type: 'spki' });
    expect(new SignatureMemo(16).verify(spki, ed, data, Buffer.alloc(64))).toBe(false);
    expect(new SignatureMemo(0).verify(spki, ed, data, Buffer.alloc(64))).toBe(false);
  });

  it('a valid signature verifies, also a second time from the memo; any other byte string does not', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const key = createPublicKey(privateKey);
    const spki = key.export({ format: 'der', type: 'spki' });
    const sig = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const memo = new SignatureMemo(16);
    expect(memo.verify(spki, key, data, sig)).toBe(true);
    expect(memo.verify(spki, key, data, sig)).toBe(true);
    expect(memo.size).toBe(1);
    expect(memo.verify(spki, key, Buffer.from('QE repors'), sig)).toBe(false);
  });
});
