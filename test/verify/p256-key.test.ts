import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CertificateParseError, P256_SPKI_PREFIX, p256PublicKey, parseCertificate, pemCertificates } from '../../src/verify/certificate.js';
import { INTEL_SGX_ROOT_CA_PEM } from '../../src/verify/intel-root.js';

/**
 * The P-256 key import every certificate and attestation key goes through (src/verify/certificate.ts):
 * the key it makes is the key of the point, and anything that is not an uncompressed point on the curve
 * is refused, so an attacker-chosen "key" can never verify a signature.
 */

function freshPoint() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  return { point: Buffer.from(spki.subarray(P256_SPKI_PREFIX.length)), spki, privateKey };
}

describe('p256PublicKey', () => {
  it('makes the same key as the SPKI import, and it verifies that key holder signatures only', () => {
    const { point, spki, privateKey } = freshPoint();
    const key = p256PublicKey(point);
    expect(key).toBeDefined();
    expect(key!.asymmetricKeyType).toBe('ec');
    expect(key!.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(key!.export({ format: 'der', type: 'spki' }).equals(spki)).toBe(true);
    const data = Buffer.from('signed by the holder of the key');
    const sig = sign('sha256', data, privateKey);
    expect(verify('sha256', data, key!, sig)).toBe(true);
    expect(verify('sha256', Buffer.from('something else'), key!, sig)).toBe(false);
    const other = freshPoint();
    expect(verify('sha256', data, p256PublicKey(other.point)!, sig)).toBe(false);
  });

  it('refuses a point off the curve (y changed), the point at infinity and all-zero coordinates', () => {
    const { point } = freshPoint();
    const offCurve = Buffer.from(point);
    offCurve[64] ^= 0x01;
    expect(p256PublicKey(offCurve)).toBeUndefined();
    expect(p256PublicKey(Buffer.from([0]))).toBeUndefined();
    expect(p256PublicKey(Buffer.concat([Buffer.from([4]), Buffer.alloc(64)]))).toBeUndefined();
  });

  it('refuses anything but 0x04 ‖ x ‖ y: compressed form, missing prefix, wrong lengths', () => {
    const { point } = freshPoint();
    const compressedPrefix = Buffer.from(point);
    compressedPrefix[0] = 0x02;
    expect(p256PublicKey(compressedPrefix)).toBeUndefined();
    expect(p256PublicKey(point.subarray(0, 33))).toBeUndefined(); // a compressed-length point
    expect(p256PublicKey(point.subarray(1))).toBeUndefined(); // x ‖ y without the 0x04
    expect(p256PublicKey(Buffer.concat([point, Buffer.from([0])]))).toBeUndefined();
    expect(p256PublicKey(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('a certificate whose P-256 key is not on the curve', () => {
  it('does not parse: CertificateParseError naming subjectPublicKeyInfo', () => {
    const der = Buffer.from(pemCertificates(INTEL_SGX_ROOT_CA_PEM)[0]);
    expect(parseCertificate(der).publicKey.asymmetricKeyType).toBe('ec');
    const at = der.indexOf(P256_SPKI_PREFIX);
    expect(at).toBeGreaterThan(0);
    der[at + P256_SPKI_PREFIX.length + 64] ^= 0x01; // last byte of y
    expect(() => parseCertificate(der)).toThrow(CertificateParseError);
    expect(() => parseCertificate(der)).toThrow(/subjectPublicKeyInfo/);
  });

  it('the real TCB signing chain of a fixture parses with the key of each SPKI', () => {
    const json = readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'testdata', 'dcap-qvl', 'sgx_quote_collateral.json'), 'utf8');
    const chain = pemCertificates(JSON.parse(json).tcb_info_issuer_chain as string);
    expect(chain.length).toBe(2);
    for (const der of chain) {
      const cert = parseCertificate(der);
      expect(cert.publicKey.export({ format: 'der', type: 'spki' }).equals(cert.spki)).toBe(true);
    }
  });
});
