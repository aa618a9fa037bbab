import { createHash, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CertificateCache,
  CertificateParseError,
  KeyUsage,
  OID,
  P256_SPKI_PREFIX,
  certificateBytes,
  importP256Point,
  parseCertificate,
  pemCertificates,
  signedBy,
  type ParsedCertificate,
} from '../../src/verify/certificate.js';
import { TESTDATA } from '../support/testdata.js';
import { pemList } from './forge.js';

/**
 * The X.509 reader of src/verify/certificate.ts on certificates built here byte by byte (RFC 5280 §4.1), so
 * that each field can be left out, duplicated or given the wrong type one at a time, and on Intel's real
 * PCK chain. Every refusal is a CertificateParseError naming the part.
 */

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  const n = content.length;
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), content]);
  const len: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v % 256);
  return Buffer.concat([Buffer.from([tag, 0x80 | len.length, ...len]), content]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);
const oid = (dotted: string): Buffer => {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [arcs[0] * 40 + arcs[1]];
  for (const a of arcs.slice(2)) {
    const b: number[] = [a & 0x7f];
    for (let v = Math.floor(a / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, Buffer.from(out));
};
const int = (h: string): Buffer => tlv(0x02, hex(h));
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]));
const octet = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.from([unused]), b);
const utc = (s: string): Buffer => tlv(0x17, Buffer.from(s, 'latin1'));
const nameOf = (cn: string, o = 'Intel Corporation'): Buffer =>
  seq(tlv(0x31, seq(oid('2.5.4.10'), tlv(0x0c, Buffer.from(o)))), tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const ext = (id: string, value: Buffer, critical?: boolean): Buffer =>
  critical === undefined ? seq(oid(id), octet(value)) : seq(oid(id), bool(critical), octet(value));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

const issuerKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const subjectKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const spkiOf = (k: KeyObject): Buffer => (k.type === 'public' ? k : createPublicKey(k)).export({ format: 'der', type: 'spki' });

interface TbsParts {
  version?: Buffer | null;
  serial?: Buffer;
  innerAlg?: Buffer;
  issuer?: Buffer;
  validity?: Buffer;
  subject?: Buffer;
  spki?: Buffer;
  /** Elements after the SubjectPublicKeyInfo (default: [3] with the extensions below). */
  tail?: Buffer[];
  extensions?: Buffer[];
}

const DEFAULT_EXTENSIONS = [
  ext(OID.keyUsage, bits(Buffer.from([0x06]), 1), true), // keyCertSign, cRLSign
  ext(OID.basicConstraints, seq(bool(true), int('00')), true),
  ext(OID.subjectKeyIdentifier, octet(Buffer.alloc(20, 0xab))),
];

function tbsOf(p: TbsParts = {}): Buffer {
  const parts = [
    ...(p.version === null ? [] : [p.version ?? tlv(0xa0, int('02'))]),
    p.serial ?? int('00 8a 01 02'),
    p.innerAlg ?? ECDSA_SHA256,
    p.issuer ?? nameOf('Test Root CA'),
    p.validity ?? seq(utc('200101000000Z'), utc('400101000000Z')),
    p.subject ?? nameOf('Test PCK CA'),
    p.spki ?? spkiOf(subjectKeys.publicKey),
    ...(p.tail ?? [tlv(0xa3, seq(...(p.extensions ?? DEFAULT_EXTENSIONS)))]),
  ];
  return seq(...parts);
}

function certOf(tbs: Buffer, alg = ECDSA_SHA256, key: KeyObject = issuerKeys.privateKey): Buffer {
  return seq(tbs, alg, bits(sign('sha256', tbs, key)));
}

function parseError(der: Buffer): string {
  try {
    parseCertificate(der);
  } catch (e) {
    expect(e).toBeInstanceOf(CertificateParseError);
    expect((e as Error).name).toBe('CertificateParseError');
    return (e as Error).message;
  }
  throw new Error('expected a CertificateParseError, nothing was thrown');
}

const REAL_CHAIN = pemList(readFileSync(`${TESTDATA}/intel-qvl-sampledata/pckSignChain.pem`, 'utf8'));

describe('parseCertificate: the fields', () => {
  it('reads every field of a hand-built v3 certificate', () => {
    const tbs = tbsOf();
    const der = certOf(tbs);
    const c = parseCertificate(der);
    expect(c.der).toEqual(der);
    expect(c.fingerprint).toBe(createHash('sha256').update(der).digest('hex'));
    expect(c.serial).toBe('8a0102');
    expect(c.issuerRaw).toEqual(nameOf('Test Root CA'));
    expect(c.subjectRaw).toEqual(nameOf('Test PCK CA'));
    expect([c.issuerCN, c.subjectCN]).toEqual(['Test Root CA', 'Test PCK CA']);
    expect(c.notBefore.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(c.notAfter.toISOString()).toBe('2040-01-01T00:00:00.000Z');
    expect(c.tbs).toEqual(tbs);
    expect(c.signatureAlgorithm).toBe('1.2.840.10045.4.3.2');
    expect(c.signature).toEqual(der.subarray(der.length - c.signature.length));
    expect(c.spki).toEqual(spkiOf(subjectKeys.publicKey));
    expect(c.publicKey.equals(createPublicKey(subjectKeys.privateKey))).toBe(true);
    expect(c.keyUsage).toBe(KeyUsage.keyCertSign | KeyUsage.cRLSign);
    expect(c.basicConstraints).toStrictEqual({ ca: true, pathLen: 0 });
    expect([...c.extensions.keys()]).toEqual([OID.keyUsage, OID.basicConstraints, OID.subjectKeyIdentifier]);
    expect(c.extensions.get(OID.keyUsage)?.critical).toBe(true);
    expect(c.extensions.get(OID.subjectKeyIdentifier)).toEqual({ critical: false, value: octet(Buffer.alloc(20, 0xab)) });
    expect(signedBy(c, createPublicKey(issuerKeys.privateKey))).toBe(true);
  });

  it('keeps its own copy of the bytes', () => {
    const der = certOf(tbsOf());
    const copy = Buffer.from(der);
    const c = parseCertificate(der);
    der.fill(0);
    expect(c.der).toEqual(copy);
    expect(c.subjectCN).toBe('Test PCK CA');
    expect(c.tbs).toEqual(copy.subarray(c.tbs.byteOffset - c.der.byteOffset, c.tbs.byteOffset - c.der.byteOffset + c.tbs.length));
  });

  it('reads a v1 certificate (no [0] version), and elements after the key other than [3] are skipped', () => {
    const v1 = parseCertificate(certOf(tbsOf({ version: null, tail: [] })));
    expect(v1.serial).toBe('8a0102');
    expect(v1.subjectCN).toBe('Test PCK CA');
    expect(v1.extensions.size).toBe(0);
    expect('keyUsage' in v1).toBe(false);
    expect('basicConstraints' in v1).toBe(false);

    // issuerUniqueID [1] and subjectUniqueID [2] before the extensions
    const c = parseCertificate(certOf(tbsOf({ tail: [tlv(0x81, hex('00 01')), tlv(0x82, hex('00 02')), tlv(0xa3, seq(...DEFAULT_EXTENSIONS))] })));
    expect(c.extensions.size).toBe(3);
    expect(c.keyUsage).toBe(KeyUsage.keyCertSign | KeyUsage.cRLSign);
  });

  it('strips the sign-padding zero of the serial number', () => {
    expect(parseCertificate(certOf(tbsOf({ serial: int('00 ff') }))).serial).toBe('ff');
    expect(parseCertificate(certOf(tbsOf({ serial: int('01') }))).serial).toBe('01');
  });

  it('reads Intel’s real PCK chain', () => {
    const certs = REAL_CHAIN.map((p) => parseCertificate(certificateBytes(p)[0]));
    expect(certs.map((c) => c.subjectCN)).toEqual(['Intel SGX PCK Processor CA', 'Intel SGX Root CA']);
    expect(certs[0].issuerCN).toBe('Intel SGX Root CA');
    const root = certs[certs.length - 1];
    expect(root.basicConstraints?.ca).toBe(true);
    expect(signedBy(root, root.publicKey)).toBe(true);
    for (let i = 0; i + 1 < certs.length; i++) expect(signedBy(certs[i], certs[i + 1].publicKey)).toBe(true);
  });
});

describe('parseCertificate: extensions', () => {
  const withExts = (...e: Buffer[]): ParsedCertificate => parseCertificate(certOf(tbsOf({ extensions: e })));

  it('critical: an explicit BOOLEAN, FALSE when absent', () => {
    const c = withExts(ext('1.2.3.1', hex('aa'), true), ext('1.2.3.2', hex('bb'), false), ext('1.2.3.3', hex('cc')));
    expect([...c.extensions.entries()].map(([k, v]) => [k, v.critical, v.value.toString('hex')])).toEqual([
      ['1.2.3.1', true, 'aa'],
      ['1.2.3.2', false, 'bb'],
      ['1.2.3.3', false, 'cc'],
    ]);
  });

  it('an Extension has 2 or 3 elements, and the middle one of 3 is the critical BOOLEAN', () => {
    const bad = (...e: Buffer[]): string => parseError(certOf(tbsOf({ extensions: e })));
    expect(bad(seq(oid('1.2.3.4'), int('01'), octet(hex('dd'))))).toBe('extension 1.2.3.4 critical: expected a BOOLEAN');
    // Four elements with a TRUE second one: refused, not read as a critical extension.
    expect(bad(seq(oid('1.2.3.5'), bool(true), octet(hex('01')), octet(hex('dd'))))).toBe('Extension: expected 2 or 3 elements, got 4');
    expect(bad(seq(oid('1.2.3.6')))).toBe('Extension: expected 2 or 3 elements, got 1');
    expect(bad(seq())).toBe('Extension: expected 2 or 3 elements, got 0');
  });

  it('refuses a duplicate extension, a value that is not an OCTET STRING, a bad critical flag, a bad extnID', () => {
    const bad = (...e: Buffer[]): string => parseError(certOf(tbsOf({ extensions: e })));
    expect(bad(ext(OID.keyUsage, bits(hex('80'), 7)), ext('1.2.3', hex('00')), ext(OID.keyUsage, bits(hex('80'), 7)))).toBe(
      'duplicate extension 2.5.29.15',
    );
    expect(bad(seq(oid('1.2.3'), bool(true)))).toBe('extension 1.2.3: expected an OCTET STRING');
    expect(bad(seq(oid('1.2.3'), tlv(0x01, hex('ff ff')), octet(hex('00'))))).toBe('extension 1.2.3 critical: BOOLEAN must be one octet');
    expect(bad(seq(int('01'), octet(hex('00'))))).toBe('extnID: expected an OBJECT IDENTIFIER');
    expect(bad(octet(hex('00')))).toBe('Extension: expected a constructed element');
  });

  it('refuses a [3] that does not hold a SEQUENCE of extensions', () => {
    expect(parseError(certOf(tbsOf({ tail: [tlv(0xa3)] })))).toBe('Extensions: expected a constructed element');
    expect(parseError(certOf(tbsOf({ tail: [tlv(0xa3, octet(hex('00')))] })))).toBe('Extensions: expected a constructed element');
    expect(parseError(certOf(tbsOf({ tail: [tlv(0x83, hex('00'))] })))).toBe('extensions: expected a constructed element');
  });

  it('key usage: bit 0 is the first bit of the first octet, up to 16 bits', () => {
    const ku = (b: Buffer, unused = 0): number | undefined => withExts(ext(OID.keyUsage, bits(b, unused))).keyUsage;
    expect(ku(hex('80'), 7)).toBe(KeyUsage.digitalSignature);
    expect(ku(hex('c0'), 6)).toBe(KeyUsage.digitalSignature | KeyUsage.nonRepudiation);
    expect(ku(hex('06'), 1)).toBe(KeyUsage.keyCertSign | KeyUsage.cRLSign);
    expect(ku(hex('01'))).toBe(1 << 7);
    expect(ku(hex('00 80'), 7)).toBe(1 << 8); // decipherOnly
    expect(ku(hex('ff ff'))).toBe(0xffff);
    expect(ku(hex('00 00 80'))).toBe(0); // beyond bit 15: not read
    expect(ku(Buffer.alloc(0))).toBe(0);
  });

  it('key usage that is not a BIT STRING, or has trailing bytes, is refused', () => {
    expect(parseError(certOf(tbsOf({ extensions: [ext(OID.keyUsage, octet(hex('80')))] })))).toBe('keyUsage: expected a BIT STRING');
    expect(parseError(certOf(tbsOf({ extensions: [ext(OID.keyUsage, Buffer.concat([bits(hex('80'), 7), hex('00')]))] })))).toBe(
      'keyUsage: 1 trailing bytes',
    );
  });

  it('basic constraints: cA defaults to FALSE, pathLen only when present', () => {
    const bc = (v: Buffer): unknown => withExts(ext(OID.basicConstraints, v)).basicConstraints;
    expect(bc(seq())).toStrictEqual({ ca: false });
    expect(bc(seq(bool(true)))).toStrictEqual({ ca: true });
    expect(bc(seq(bool(false)))).toStrictEqual({ ca: false });
    expect(bc(seq(bool(true), int('03')))).toStrictEqual({ ca: true, pathLen: 3 });
    expect(bc(seq(int('00')))).toStrictEqual({ ca: false, pathLen: 0 });
    expect(bc(seq(bool(true), octet(hex('01'))))).toStrictEqual({ ca: true }); // other elements are ignored
  });

  it('basic constraints that are malformed are refused, naming the field', () => {
    const bad = (v: Buffer): string => parseError(certOf(tbsOf({ extensions: [ext(OID.basicConstraints, v)] })));
    expect(bad(octet(hex('01')))).toBe('basicConstraints: expected a constructed element');
    expect(bad(seq(tlv(0x01, hex('ff ff'))))).toBe('basicConstraints.cA: BOOLEAN must be one octet');
    expect(bad(seq(bool(true), int('80')))).toBe('basicConstraints.pathLenConstraint: negative integer');
  });
});

describe('parseCertificate: malformed structure', () => {
  const tbs = tbsOf();
  const sig = bits(sign('sha256', tbs, issuerKeys.privateKey));

  it('refuses bytes that are not one DER element', () => {
    expect(parseError(Buffer.alloc(0))).toBe('certificate: empty');
    expect(parseError(Buffer.concat([certOf(tbs), hex('00')]))).toBe('certificate: 1 trailing bytes');
    expect(parseError(certOf(tbs).subarray(0, 100))).toMatch(/^certificate: element at offset 0 runs \d+ bytes past its container$/);
    expect(parseError(octet(hex('00')))).toBe('Certificate: expected a constructed element');
  });

  it('refuses a Certificate of other than 3 elements', () => {
    expect(parseError(seq(tbs, ECDSA_SHA256))).toBe('Certificate: expected 3 elements');
    expect(parseError(seq(tbs, ECDSA_SHA256, sig, sig))).toBe('Certificate: expected 3 elements');
    expect(parseError(seq())).toBe('Certificate: expected 3 elements');
  });

  it('refuses a bad signature algorithm, signature or TBSCertificate', () => {
    expect(parseError(seq(tbs, seq(), sig))).toBe('signatureAlgorithm: expected an OBJECT IDENTIFIER');
    expect(parseError(seq(tbs, octet(hex('00')), sig))).toBe('signatureAlgorithm: expected a constructed element');
    expect(parseError(seq(tbs, ECDSA_SHA256, octet(hex('00'))))).toBe('signature: expected a BIT STRING');
    expect(parseError(seq(octet(hex('00')), ECDSA_SHA256, sig))).toBe('TBSCertificate: expected a constructed element');
  });

  it('refuses a TBSCertificate with missing fields', () => {
    const parts = [tlv(0xa0, int('02')), int('01'), ECDSA_SHA256, nameOf('I'), seq(utc('200101000000Z'), utc('400101000000Z')), nameOf('S')];
    const spki = spkiOf(subjectKeys.publicKey);
    const cert = (...p: Buffer[]): Buffer => certOf(seq(...p));
    // no SubjectPublicKeyInfo; no subject either; no issuer (then no validity either)
    expect(parseError(cert(...parts))).toBe('TBSCertificate: missing fields');
    expect(parseError(cert(...parts.slice(0, 5)))).toBe('TBSCertificate: missing fields');
    expect(parseError(cert(...parts.slice(0, 3)))).toBe('validity: expected a constructed element');
    expect(parseError(cert(...parts.slice(0, 2)))).toBe('validity: expected a constructed element');
    expect(parseError(cert(tlv(0xa0, int('02'))))).toBe('serialNumber: expected an INTEGER');
    expect(parseError(cert())).toBe('serialNumber: expected an INTEGER');
    // validity of one or three times
    const withValidity = (v: Buffer): Buffer => cert(parts[0], parts[1], parts[2], parts[3], v, parts[5], spki);
    expect(parseError(withValidity(seq(utc('200101000000Z'))))).toBe('TBSCertificate: missing fields');
    expect(parseError(withValidity(seq(utc('200101000000Z'), utc('400101000000Z'), utc('400101000000Z'))))).toBe(
      'TBSCertificate: missing fields',
    );
    expect(parseError(withValidity(seq(utc('200101000000Z'), octet(hex('00')))))).toBe('notAfter: expected UTCTime or GeneralizedTime');
    expect(parseError(withValidity(seq(utc('201301000000Z'), utc('400101000000Z'))))).toBe('notBefore: invalid time "201301000000Z"');
    expect(parseCertificate(withValidity(seq(utc('200101000000Z'), tlv(0x18, Buffer.from('99991231235959Z'))))).notAfter.toISOString()).toBe(
      '9999-12-31T23:59:59.000Z',
    );
  });

  it('refuses a serial number that is not an INTEGER, and names that are malformed', () => {
    expect(parseError(certOf(tbsOf({ serial: octet(hex('01')) })))).toBe('serialNumber: expected an INTEGER');
    expect(parseError(certOf(tbsOf({ serial: tlv(0x02) })))).toBe('serialNumber: empty INTEGER');
    expect(parseError(certOf(tbsOf({ issuer: octet(hex('00')) })))).toBe('Name: expected a constructed element');
    expect(parseError(certOf(tbsOf({ subject: seq(octet(hex('00'))) })))).toBe('RDN: expected a constructed element');
  });

  it('refuses a key node:crypto cannot read, with its message', () => {
    expect(parseError(certOf(tbsOf({ spki: seq(seq(oid('1.2.3')), bits(hex('00'))) })))).toMatch(/^subjectPublicKeyInfo: .+/);
  });
});

describe('parseCertificate: key import', () => {
  it('imports a P-256 key (the JWK fast path) equal to the SPKI import', () => {
    const der = certOf(tbsOf());
    const c = parseCertificate(der);
    expect(c.publicKey.equals(createPublicKey({ key: c.spki, format: 'der', type: 'spki' }))).toBe(true);
    expect(c.publicKey.asymmetricKeyType).toBe('ec');
  });

  it('imports other key types through node:crypto', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const c = parseCertificate(certOf(tbsOf({ spki: spkiOf(p384.publicKey) })));
    expect(c.publicKey.equals(createPublicKey(p384.privateKey))).toBe(true);
    const ed = generateKeyPairSync('ed25519');
    const e = parseCertificate(certOf(tbsOf({ spki: spkiOf(ed.publicKey) })));
    expect(e.publicKey.asymmetricKeyType).toBe('ed25519');
  });

  it('only a P-256 SPKI takes the fast path: the same point under another curve or key algorithm is not read as P-256', () => {
    const point = createPublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).export({ format: 'der', type: 'spki' }).subarray(P256_SPKI_PREFIX.length);
    // Same length as a P-256 SPKI: prime256v1 (1.2.840.10045.3.1.7) with its last arc changed to 99
    // (no such curve), and id-ecPublicKey (1.2.840.10045.2.1) with its last arc changed to 9.
    for (const at of [22, 12]) {
      const other = Buffer.concat([P256_SPKI_PREFIX, point]);
      other[at] = at === 22 ? 99 : 9;
      expect(parseError(certOf(tbsOf({ spki: other })))).toMatch(/^subjectPublicKeyInfo: .+/);
    }
  });

  it('refuses a P-256 point that is not on the curve with node:crypto’s message', () => {
    const bad = Buffer.concat([P256_SPKI_PREFIX, Buffer.from([0x04]), Buffer.alloc(64, 0x01)]);
    const der = certOf(tbsOf({ spki: bad }));
    expect(parseError(der)).toMatch(/^subjectPublicKeyInfo: .+/);
    expect(() => parseCertificate(der)).toThrow(CertificateParseError);
  });
});

describe('importP256Point', () => {
  it('imports an uncompressed point on the curve, and refuses others', async () => {
    const spki = spkiOf(subjectKeys.publicKey);
    const point = spki.subarray(P256_SPKI_PREFIX.length);
    expect(spki.subarray(0, P256_SPKI_PREFIX.length)).toEqual(P256_SPKI_PREFIX);
    const key = await importP256Point(point);
    expect(key?.equals(createPublicKey(subjectKeys.privateKey))).toBe(true);
    expect(await importP256Point(Buffer.concat([Buffer.from([0x04]), Buffer.alloc(64, 0x01)]))).toBeUndefined();
    expect(await importP256Point(Buffer.alloc(0))).toBeUndefined();
  });
});

describe('signedBy', () => {
  const issuerPub = createPublicKey(issuerKeys.privateKey);
  const otherPub = createPublicKey(subjectKeys.privateKey);

  it('true for the issuer key only', () => {
    const c = parseCertificate(certOf(tbsOf()));
    expect(signedBy(c, otherPub)).toBe(false);
    expect(signedBy(c, issuerPub)).toBe(true);
    // the results are kept per key: asking again in either order gives the same answers
    expect(signedBy(c, otherPub)).toBe(false);
    expect(signedBy(c, issuerPub)).toBe(true);
  });

  it('false for another signature algorithm, even with a signature that verifies under SHA-256', () => {
    const tbs = tbsOf();
    const c = parseCertificate(certOf(tbs, seq(oid('1.2.840.10045.4.3.3'))));
    expect(c.signatureAlgorithm).toBe('1.2.840.10045.4.3.3');
    expect(signedBy(c, issuerPub)).toBe(false);
  });

  it('false when verification throws (a key of another type) or the signature is garbage', () => {
    const c = parseCertificate(certOf(tbsOf()));
    expect(signedBy(c, generateKeyPairSync('ed25519').publicKey)).toBe(false);
    expect(signedBy({ tbs: c.tbs, signature: hex('30 00'), signatureAlgorithm: c.signatureAlgorithm }, issuerPub)).toBe(false);
    expect(signedBy({ tbs: c.tbs, signature: hex('ff'), signatureAlgorithm: c.signatureAlgorithm }, issuerPub)).toBe(false);
  });

  it('each signature is verified once per key: the result is kept on the parsed object', () => {
    const c = parseCertificate(certOf(tbsOf()));
    expect(signedBy(c, issuerPub)).toBe(true);
    c.signature = Buffer.alloc(c.signature.length); // parsed objects never change; this shows the answer is kept
    expect(signedBy(c, issuerPub)).toBe(true);
    const d = parseCertificate(certOf(tbsOf()));
    d.signature = Buffer.alloc(d.signature.length);
    expect(signedBy(d, issuerPub)).toBe(false);
  });
});

describe('PEM input', () => {
  const [a, b] = [certOf(tbsOf()), certOf(tbsOf({ serial: int('02') }))];
  const pem = (der: Buffer): string => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----`;

  it('pemCertificates splits concatenated blocks, ignoring text and NULs between them', () => {
    expect(pemCertificates(`${pem(a)}\n\0junk\r\n${pem(b)}\0`)).toEqual([a, b]);
    expect(pemCertificates(`${pem(a)}${pem(b)}`)).toEqual([a, b]);
    expect(pemCertificates('no certificates')).toEqual([]);
    expect(pemCertificates('')).toEqual([]);
    expect(pemCertificates(`-----BEGIN CERTIFICATE-----\n ${a.toString('base64').replace(/(.{10})/g, '$1 \t\r\n')} \n-----END CERTIFICATE-----`)).toEqual([a]);
  });

  it('certificateBytes: PEM text, a PEM buffer, or DER bytes as they are', () => {
    expect(certificateBytes(pem(a))).toEqual([a]);
    expect(certificateBytes(Buffer.from(`${pem(a)}\n${pem(b)}`))).toEqual([a, b]);
    const out = certificateBytes(a);
    expect(out).toHaveLength(1);
    expect(out[0]).toBe(a);
    expect(certificateBytes('')).toEqual([]);
  });
});

describe('CertificateCache', () => {
  const [a, b, c] = [certOf(tbsOf({ serial: int('0a') })), certOf(tbsOf({ serial: int('0b') })), certOf(tbsOf({ serial: int('0c') }))];

  it('parses each certificate once (by fingerprint)', () => {
    const cache = new CertificateCache();
    const first = cache.get(a);
    expect(first.serial).toBe('0a');
    expect(cache.get(Buffer.from(a))).toBe(first);
    const lb = cache.get(b);
    expect(lb.serial).toBe('0b');
    expect(cache.get(Buffer.from(b))).toBe(lb);
    expect(cache.size).toBe(2);
  });

  it('is bounded: the oldest entry goes first', () => {
    const cache = new CertificateCache(2);
    cache.get(a);
    cache.get(b);
    cache.get(c);
    expect(cache.size).toBe(2);
    cache.get(a); // evicted from this cache (a non-PCK certificate comes back from the process-wide parse)
    expect(cache.size).toBe(2);
  });

  it('seed adds a certificate parsed elsewhere; get returns it', () => {
    const cache = new CertificateCache();
    const parsed = parseCertificate(a);
    cache.seed(parsed);
    expect(cache.size).toBe(1);
    expect(cache.get(a)).toBe(parsed);
  });

  it('a certificate that does not parse is refused and not kept', () => {
    const cache = new CertificateCache();
    expect(() => cache.get(hex('30 00'))).toThrow(CertificateParseError);
    expect(cache.size).toBe(0);
  });
});
