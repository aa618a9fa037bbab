import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { describe, expect, it } from 'vitest';
import { EC_ALG } from '../../src/providers/sim/pki.js';
import { CrlParseError, crlHasRequiredExtensions, parseCrl } from '../../src/verify/crl.js';
import { cryptoKeys, issuedOf, makeCert } from './forge.js';

/**
 * QVL's CRL_REQUIRED_EXTENSIONS (CRL Number and Authority Key Identifier), directly on generated CRLs: both
 * are required, either missing fails (end to end: CRL_INVALID_EXTENSIONS in test/verify/checks.test.ts).
 */

async function crlWith(exts: Array<'number' | 'aki'>): Promise<Buffer> {
  const keys = await cryptoKeys();
  const issuer = issuedOf(await makeCert({ cn: 'Intel SGX PCK Processor CA', keys, ca: true }), keys);
  const extensions: x509.Extension[] = [];
  if (exts.includes('number')) extensions.push(new x509.Extension('2.5.29.20', false, new asn1js.Integer({ value: 7 }).toBER()));
  if (exts.includes('aki')) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey));
  const c = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName,
    thisUpdate: new Date('2026-01-01T00:00:00Z'),
    nextUpdate: new Date('2026-02-01T00:00:00Z'),
    signingAlgorithm: EC_ALG,
    signingKey: keys.privateKey,
    extensions,
  });
  return Buffer.from(c.rawData);
}

describe('CRL required extensions', () => {
  it('both present: accepted, and the CRL number is read', async () => {
    const c = parseCrl(await crlWith(['number', 'aki']));
    expect(crlHasRequiredExtensions(c)).toBe(true);
    expect(c.crlNumber).toBe(7n);
  });
  it('only the CRL Number, only the AKI, or neither: refused', async () => {
    expect(crlHasRequiredExtensions(parseCrl(await crlWith(['number'])))).toBe(false);
    const akiOnly = parseCrl(await crlWith(['aki']));
    expect(crlHasRequiredExtensions(akiOnly)).toBe(false);
    expect(akiOnly.crlNumber).toBeUndefined();
    expect(crlHasRequiredExtensions(parseCrl(await crlWith([])))).toBe(false);
  });
  it('a malformed CRL is a CrlParseError', () => {
    let err: unknown;
    try {
      parseCrl(Buffer.from('3003020101', 'hex'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CrlParseError);
    expect((err as Error).name).toBe('CrlParseError');
  });
});
