import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCollateralBundle } from '../../src/pcs/bundle.js';
import { createCrl } from '../../src/providers/sim/crl.js';
import { EC_ALG } from '../../src/providers/sim/pki.js';
import { CrlParseError, crlHasRequiredExtensions, parseCrl } from '../../src/verify/crl.js';
import { TESTDATA } from '../support/testdata.js';
import { cryptoKeys, issuedOf, makeCert } from './forge.js';

/** parseCrl on real (Intel) and generated CRLs: every field the verifier relies on, and malformed shapes. */

const intel = parseCollateralBundle(readFileSync(`${TESTDATA}/dcap-qvl/sgx_quote_collateral.json`));
/** Intel's PCK Platform CA CRL in the TDX sample lists revoked certificates (the SGX sample's lists none). */
const intelPlatform = parseCollateralBundle(readFileSync(`${TESTDATA}/dcap-qvl/tdx_quote_collateral.json`));

async function ca() {
  const keys = await cryptoKeys();
  return issuedOf(await makeCert({ cn: 'Intel SGX PCK Processor CA', keys, ca: true }), keys);
}

describe('parseCrl', () => {
  it("Intel's PCK CRL: issuer, window, CRL number, extensions, revoked serials", () => {
    const c = parseCrl(intel.pckCrl);
    expect(c.issuerCN).toBe('Intel SGX PCK Processor CA');
    expect(c.thisUpdate.getTime()).toBeLessThan(c.nextUpdate!.getTime());
    expect(typeof c.crlNumber).toBe('bigint');
    expect(crlHasRequiredExtensions(c)).toBe(true);
    expect(c.revoked.size).toBe(0);
    const p = parseCrl(intelPlatform.pckCrl);
    expect(p.issuerCN).toBe('Intel SGX PCK Platform CA');
    expect(p.revoked.size).toBeGreaterThan(10);
    for (const s of p.revoked) expect(s).toMatch(/^(?!00)[0-9a-f]+$/);
    expect(c.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
    expect(c.tbs.length).toBeLessThan(c.der.length);
  });

  it('a generated CRL: number, dates and serials as issued (leading zero bytes of serials stripped)', async () => {
    const issuer = await ca();
    const thisUpdate = new Date('2026-01-01T00:00:00Z');
    const nextUpdate = new Date('2026-02-01T00:00:00Z');
    const der = await createCrl({ issuer, thisUpdate, nextUpdate, crlNumber: 0x1234567, revokedSerials: ['00ab', '7f01', '0100'] });
    const c = parseCrl(der);
    expect(c.crlNumber).toBe(0x1234567n);
    expect(c.thisUpdate.toISOString()).toBe(thisUpdate.toISOString());
    expect(c.nextUpdate?.toISOString()).toBe(nextUpdate.toISOString());
    expect([...c.revoked].sort()).toEqual(['0100', '7f01', 'ab']);
    expect(c.extensionOids).toEqual(new Set(['2.5.29.20', '2.5.29.35']));
    expect(c.issuerRaw.equals(Buffer.from(issuer.cert.subjectName.toArrayBuffer()))).toBe(true);
    const zero = parseCrl(await createCrl({ issuer, thisUpdate, nextUpdate, crlNumber: 0 }));
    expect(zero.crlNumber).toBe(0n);
    expect(zero.revoked.size).toBe(0);
  });

  it('a CRL without nextUpdate, without extensions, or a v1 CRL (no version field) still parses', async () => {
    const issuer = await ca();
    const make = async (o: { nextUpdate?: Date; extensions?: x509.Extension[] }) =>
      Buffer.from((await x509.X509CrlGenerator.create({
        issuer: issuer.cert.subjectName, thisUpdate: new Date('2026-01-01T00:00:00Z'), signingAlgorithm: EC_ALG, signingKey: issuer.keys.privateKey,
        ...(o.nextUpdate ? { nextUpdate: o.nextUpdate } : {}), ...(o.extensions ? { extensions: o.extensions } : {}),
        entries: [{ serialNumber: '0a0b', revocationDate: new Date('2026-01-01T00:00:00Z') }],
      })).rawData);
    const noNext = parseCrl(await make({ extensions: [new x509.Extension('2.5.29.20', false, new asn1js.Integer({ value: 9 }).toBER())] }));
    expect(noNext.nextUpdate).toBeUndefined();
    expect(noNext.crlNumber).toBe(9n);
    expect(noNext.revoked).toEqual(new Set(['0a0b']));
    const bare = parseCrl(await make({ nextUpdate: new Date('2026-03-01T00:00:00Z') }));
    expect(bare.crlNumber).toBeUndefined();
    expect(bare.extensionOids.size).toBe(0);
    expect(crlHasRequiredExtensions(bare)).toBe(false);
    expect(bare.nextUpdate?.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    // Drop the version INTEGER from the TBSCertList: a v1 CRL. Its fields must still be found.
    const seq = asn1js.fromBER(await make({ nextUpdate: new Date('2026-03-01T00:00:00Z') })).result as asn1js.Sequence;
    const tbs = seq.valueBlock.value[0] as asn1js.Sequence;
    expect(tbs.valueBlock.value[0]).toBeInstanceOf(asn1js.Integer);
    tbs.valueBlock.value.shift();
    const v1 = parseCrl(Buffer.from(seq.toBER()));
    expect(v1.issuerCN).toBe('Intel SGX PCK Processor CA');
    expect(v1.thisUpdate.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(v1.nextUpdate?.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(v1.revoked).toEqual(new Set(['0a0b']));
  });

  it('malformed CRLs are a CrlParseError naming the part', async () => {
    const good = asn1js.fromBER(intel.pckCrl).result as asn1js.Sequence;
    const two = new asn1js.Sequence({ value: good.valueBlock.value.slice(0, 2) });
    expect(() => parseCrl(Buffer.from(two.toBER()))).toThrow(/CertificateList: expected 3 elements/);
    const onlyAlg = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [new asn1js.Integer({ value: 1 }), new asn1js.Sequence()] }), good.valueBlock.value[1], good.valueBlock.value[2]] });
    expect(() => parseCrl(Buffer.from(onlyAlg.toBER()))).toThrow(/TBSCertList: missing issuer/);
    expect(() => parseCrl(Buffer.concat([intel.pckCrl, Buffer.from([0])]))).toThrow(CrlParseError);
    expect(() => parseCrl(Buffer.from('30030201', 'hex'))).toThrow(/^CRL: /);
    expect(() => parseCrl(Buffer.from('3000', 'hex'))).toThrow(/CertificateList/);
  });
});
