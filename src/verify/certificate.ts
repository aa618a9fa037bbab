import { createHash, createPublicKey, verify as cryptoVerify, KeyObject } from 'node:crypto';
import {
  DerError,
  OID_ECDSA_WITH_SHA256,
  Tag,
  bitStringBytes,
  booleanOf,
  children,
  commonName,
  integerBytes,
  isContext,
  isTag,
  octets,
  oidOf,
  parseDer,
  rawOf,
  serialHex,
  smallUint,
  timeOf,
} from './der.js';
import { SGX_EXTENSION_OID } from '../sgx/index.js';
import { setBounded } from './bounded-map.js';

export const OID = {
  authorityKeyIdentifier: '2.5.29.35',
  subjectKeyIdentifier: '2.5.29.14',
  crlDistributionPoints: '2.5.29.31',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  crlNumber: '2.5.29.20',
} as const;

/** What QVL requires on every certificate it parses (`REQUIRED_X509_EXTENSIONS`). */
export const REQUIRED_CERT_EXTENSIONS = [
  OID.authorityKeyIdentifier,
  OID.crlDistributionPoints,
  OID.subjectKeyIdentifier,
  OID.keyUsage,
  OID.basicConstraints,
];

/** Key usage bits, numbered as in RFC 5280 (bit 0 = digitalSignature). */
export const KeyUsage = { digitalSignature: 1 << 0, nonRepudiation: 1 << 1, keyCertSign: 1 << 5, cRLSign: 1 << 6 };

/** An X.509 certificate parsed once (our DER reader for fields, node:crypto for keys and signatures). */
export interface ParsedCertificate {
  der: Buffer;
  /** Lowercase hex SHA-256 of the DER: the cache key. */
  fingerprint: string;
  serial: string;
  issuerRaw: Buffer;
  subjectRaw: Buffer;
  issuerCN: string;
  subjectCN: string;
  notBefore: Date;
  notAfter: Date;
  extensions: Map<string, { critical: boolean; value: Buffer }>;
  keyUsage?: number;
  basicConstraints?: { ca: boolean; pathLen?: number };
  publicKey: KeyObject;
  /** DER of the SubjectPublicKeyInfo (compared byte-wise: exporting a KeyObject per call is slow). */
  spki: Buffer;
  /** Raw bytes of the signed TBSCertificate and of the signature (DER ECDSA-Sig-Value). */
  tbs: Buffer;
  signature: Buffer;
  signatureAlgorithm: string;
}

export class CertificateParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CertificateParseError';
  }
}

function parseKeyUsage(value: Buffer): number {
  const bits = bitStringBytes(parseDer(value, 'keyUsage'), 'keyUsage');
  let out = 0;
  for (let i = 0; i < Math.min(bits.length, 2) * 8; i++) {
    if (bits[i >> 3] & (0x80 >> (i & 7))) out |= 1 << i;
  }
  return out;
}

function parseBasicConstraints(value: Buffer): { ca: boolean; pathLen?: number } {
  const seq = children(parseDer(value, 'basicConstraints'), 'basicConstraints');
  let ca = false;
  let pathLen: number | undefined;
  for (const el of seq) {
    if (isTag(el, Tag.boolean)) ca = booleanOf(el, 'basicConstraints.cA');
    else if (isTag(el, Tag.integer)) pathLen = smallUint(el, 'basicConstraints.pathLenConstraint');
  }
  return pathLen === undefined ? { ca } : { ca, pathLen };
}

/** SubjectPublicKeyInfo DER of a P-256 key up to the uncompressed point (id-ecPublicKey, prime256v1, BIT STRING). */
export const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/**
 * A KeyObject for a P-256 public point (0x04 ‖ x ‖ y), or undefined when it is not one (not on the curve,
 * or not uncompressed). Why JWK: it is node:crypto's cheapest synchronous import of a bare point. Measured
 * here (2026-12-02, cold verification's four imports): JWK 70-90 µs of CPU on Node 20 (OpenSSL 3.0) and
 * 20-30 µs on Node 24, against 80-115 / 35-70 µs for WebCrypto's raw import (which also allocates a
 * CryptoKey and a promise per key) and ~170 µs for SPKI DER through OpenSSL 3's decoder framework.
 * OpenSSL checks the point is on the curve either way.
 */
export function p256PublicKey(point: Buffer): KeyObject | undefined {
  if (point.length !== 65 || point[0] !== 4) return undefined;
  try {
    const jwk = { kty: 'EC', crv: 'P-256', x: point.toString('base64url', 1, 33), y: point.toString('base64url', 33, 65) };
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** p256PublicKey for callers that await it (the import itself is synchronous). */
export async function importP256Point(point: Buffer): Promise<KeyObject | undefined> {
  return p256PublicKey(point);
}

function importSpkiGeneric(spki: Buffer): KeyObject {
  try {
    return createPublicKey({ key: spki, format: 'der', type: 'spki' });
  } catch (e) {
    throw new CertificateParseError(`subjectPublicKeyInfo: ${(e as Error).message}`);
  }
}

/** The key of a SubjectPublicKeyInfo: P-256 (the only key type Intel's PKI uses) through the fast import. */
function importSpki(spki: Buffer): KeyObject {
  if (spki.length === P256_SPKI_PREFIX.length + 65 && spki.subarray(0, P256_SPKI_PREFIX.length).equals(P256_SPKI_PREFIX)) {
    const key = p256PublicKey(spki.subarray(P256_SPKI_PREFIX.length));
    if (key) return key;
  }
  return importSpkiGeneric(spki); // any other key type, or the exact error message for a bad point
}

/** Parse an X.509 v3 certificate. Throws CertificateParseError for anything malformed or unsupported. */
export function parseCertificate(input: Buffer): ParsedCertificate {
  const { spki, ...fields } = parseCertificateFields(input);
  return { ...fields, spki, publicKey: importSpki(spki) };
}

function parseCertificateFields(input: Buffer): Omit<ParsedCertificate, 'publicKey'> {
  try {
    // Our own copy: every field below is a view into it, so the caller's buffer may change afterwards.
    const der = Buffer.from(input);
    const top = children(parseDer(der, 'certificate'), 'Certificate');
    if (top.length !== 3) throw new DerError('Certificate: expected 3 elements');
    const [tbsEl, algEl, sigEl] = top;
    const signatureAlgorithm = oidOf(children(algEl, 'signatureAlgorithm')[0], 'signatureAlgorithm');
    const sigBits = bitStringBytes(sigEl, 'signature');
    const tbs = children(tbsEl, 'TBSCertificate');
    let i = 0;
    if (isContext(tbs[0], 0)) i++; // version
    const serial = serialHex(integerBytes(tbs[i++], 'serialNumber'));
    i++; // inner signature algorithm
    const issuerEl = tbs[i++];
    const validity = children(tbs[i++], 'validity');
    const subjectEl = tbs[i++];
    const spkiEl = tbs[i++];
    if (!issuerEl || !subjectEl || !spkiEl || validity.length !== 2) throw new DerError('TBSCertificate: missing fields');
    const extensions = new Map<string, { critical: boolean; value: Buffer }>();
    for (; i < tbs.length; i++) {
      if (!isContext(tbs[i], 3)) continue;
      const list = children(children(tbs[i], 'extensions')[0], 'Extensions');
      for (const ext of list) {
        // Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280).
        const parts = children(ext, 'Extension');
        if (parts.length !== 2 && parts.length !== 3) throw new DerError(`Extension: expected 2 or 3 elements, got ${parts.length}`);
        const oid = oidOf(parts[0], 'extnID');
        const critical = parts.length === 3 ? booleanOf(parts[1], `extension ${oid} critical`) : false;
        if (extensions.has(oid)) throw new DerError(`duplicate extension ${oid}`);
        extensions.set(oid, { critical, value: octets(parts[parts.length - 1], `extension ${oid}`) });
      }
    }
    const ku = extensions.get(OID.keyUsage);
    const bc = extensions.get(OID.basicConstraints);
    return {
      der,
      fingerprint: createHash('sha256').update(der).digest('hex'),
      serial,
      issuerRaw: rawOf(issuerEl),
      subjectRaw: rawOf(subjectEl),
      issuerCN: commonName(issuerEl),
      subjectCN: commonName(subjectEl),
      notBefore: timeOf(validity[0], 'notBefore'),
      notAfter: timeOf(validity[1], 'notAfter'),
      extensions,
      ...(ku ? { keyUsage: parseKeyUsage(ku.value) } : {}),
      ...(bc ? { basicConstraints: parseBasicConstraints(bc.value) } : {}),
      spki: rawOf(spkiEl),
      tbs: rawOf(tbsEl),
      signature: sigBits,
      signatureAlgorithm,
    };
  } catch (e) {
    if (e instanceof CertificateParseError) throw e;
    throw new CertificateParseError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Signature results by signed object and issuer key, kept on the signed object itself (a symbol-keyed
 * field: no process-wide WeakMap whose ephemerons every garbage collection has to trace). Both are parsed
 * once and never changed (certificates and CRLs come from caches keyed by their bytes, each key belongs
 * to one parsed certificate), so each signature is verified once however many chains, CRL checks and
 * collateral sets share it.
 */
const SIGNATURE_RESULTS = Symbol('signatureResults');
type SignedObject = { tbs: Buffer; signature: Buffer; signatureAlgorithm: string; [SIGNATURE_RESULTS]?: Map<KeyObject, boolean> };

/** True when `cert` (a parsed certificate or CRL) carries a valid ecdsa-with-SHA256 signature by `issuerKey`. */
export function signedBy(cert: { tbs: Buffer; signature: Buffer; signatureAlgorithm: string }, issuerKey: KeyObject): boolean {
  const signed = cert as SignedObject;
  const known = signed[SIGNATURE_RESULTS]?.get(issuerKey);
  if (known !== undefined) return known;
  let ok = false;
  if (cert.signatureAlgorithm === OID_ECDSA_WITH_SHA256) {
    try {
      ok = cryptoVerify('sha256', cert.tbs, issuerKey, cert.signature);
    } catch {
      ok = false;
    }
  }
  (signed[SIGNATURE_RESULTS] ??= new Map()).set(issuerKey, ok);
  return ok;
}

/** Split concatenated PEM certificates into DER buffers (NULs and text between blocks are ignored). */
export function pemCertificates(pem: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  // Buffer's base64 decoder skips whitespace (line breaks), so the body needs no cleaning first.
  for (let m = re.exec(pem); m; m = re.exec(pem)) out.push(Buffer.from(m[1], 'base64'));
  return out;
}

/** A root given as PEM text, DER bytes, or a PEM/DER buffer. */
export function certificateBytes(input: string | Buffer): Buffer[] {
  if (typeof input === 'string') return pemCertificates(input);
  const text = input.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return pemCertificates(text);
  return [input];
}

/**
 * Intel's shared certificates, parsed once in this process, by SHA-256 fingerprint, for every verifier. Intel's PKI has
 * one root, two PCK CAs and one TCB signing certificate, the same for every platform: a new verifier, or a
 * platform the process has not seen, then parses them (and imports their keys, and verifies their
 * signatures, whose results stay on the parsed object) once per process instead of once per verifier. PCK
 * certificates (those with Intel's SGX extension) are not shared: each belongs to one platform. Sharing is safe
 * because a parse is a pure function of the bytes and never changed afterwards, and a signature result is
 * kept per issuer key object; trust is still decided per verifier, against its own anchors. Bounded
 * (oldest first), so made-up certificates can only push Intel's out, costing a re-parse.
 */
const SHARED_ENTRIES = 64;
const sharedCertificates = new Map<string, ParsedCertificate>();

function parseShared(der: Buffer): ParsedCertificate {
  const cert = parseCertificate(der);
  return cert.extensions.has(SGX_EXTENSION_OID) ? cert : setBounded(sharedCertificates, cert.fingerprint, cert, SHARED_ENTRIES);
}

/** Parsed certificates by SHA-256 fingerprint (PCK certificates once per verifier, the others once per process). Bounded: oldest entries go first. */
export class CertificateCache {
  private readonly map = new Map<string, ParsedCertificate>();
  constructor(private readonly max = 4096) {}

  get(der: Buffer): ParsedCertificate {
    const fp = createHash('sha256').update(der).digest('hex');
    return this.map.get(fp) ?? this.keep(fp, sharedCertificates.get(fp) ?? parseShared(der));
  }

  private keep(fp: string, parsed: ParsedCertificate): ParsedCertificate {
    return setBounded(this.map, fp, parsed, this.max);
  }

  /** Add a certificate parsed elsewhere (the embedded Intel root, parsed once per process). */
  seed(cert: ParsedCertificate): void {
    this.map.set(cert.fingerprint, cert);
  }

  get size(): number {
    return this.map.size;
  }
}
