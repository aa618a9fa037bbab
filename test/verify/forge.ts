import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, createPrivateKey, generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rawPublicKey } from '../../src/providers/sim/quoting-enclave.js';
import { EC_ALG, intelName, type CryptoKeyPair, type Issued } from '../../src/providers/sim/pki.js';
import { StateFiles } from '../../src/providers/sim/state-files.js';
import { encodeQuote, parseQuote, parseReportBody, pemChainCertificationData, type Quote } from '../../src/sgx/index.js';

/**
 * Forging quotes for the verifier's per-check tests (test/verify/checks.test.ts). Each check of spec §5
 * needs an input that is right in every other respect, so the helpers here re-sign what they change with
 * the simulator's own keys: the PCK key signs the edited QE report, a fresh attestation key signs the quote.
 * The simulator stands in for the hardware (there is none here); the keys never leave the test's temp dir.
 */

/** Offsets inside the 384-byte report body (spec §1.2), written out here rather than taken from src/sgx. */
export const QE_REPORT = { miscSelect: 16, attributes: 48, mrSigner: 128, isvProdId: 256, isvSvn: 258, reportData: 320 } as const;

export function newP256(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

export interface ForgeOptions {
  /** PEM leaf ‖ intermediate ‖ root written into the quote's type-5 certification data (default: unchanged). */
  chainPem?: string[];
  /** Signs the QE report (S2). */
  pckKey: KeyObject;
  /** Signs the quote (S1); default a fresh P-256 key. */
  attestationKey?: KeyObject;
  /** QE authentication data (default: unchanged). */
  authData?: Buffer;
  /** Edit the QE report bytes after the binding (S3) was written, before S2 is computed. */
  editQeReport?: (raw: Buffer) => void;
  /** Edit the signed range [0, signedLength) before S1 is computed. */
  editSigned?: (raw: Buffer) => void;
  /** Skip writing the S3 binding into the QE report data. */
  keepReportData?: boolean;
  /** Put these 64 bytes in as the attestation public key (bound by S3, but maybe not a curve point). */
  rawAttestPubKey?: Buffer;
}

/** A quote (any version) with its QE report, binding and signatures redone: valid unless an edit breaks it. */
export function forgeQuote(input: Buffer | Quote, o: ForgeOptions): Buffer {
  const q = Buffer.isBuffer(input) ? parseQuote(input) : input;
  const att = o.attestationKey ?? newP256();
  const attestPubKey = o.rawAttestPubKey ?? rawPublicKey(att);
  const authData = o.authData ?? q.qe.qeAuthData;
  const report = Buffer.from(q.qe.qeReportRaw);
  if (!o.keepReportData) {
    createHash('sha256').update(attestPubKey).update(authData).digest().copy(report, QE_REPORT.reportData);
  }
  o.editQeReport?.(report);
  q.qe.qeReport = parseReportBody(report, 0);
  q.qe.qeReportRaw = report;
  q.qe.qeReportSignature = sign('sha256', report, { key: o.pckKey, dsaEncoding: 'ieee-p1363' });
  q.qe.qeAuthData = authData;
  if (o.chainPem) {
    const chain = o.chainPem.map((p) => p.trim());
    q.qe.certificationData = { type: 5, data: pemChainCertificationData(chain), encoding: 'pem', pemChain: chain.join('\n'), certificatesPem: chain };
  }
  q.attestPubKey = attestPubKey;
  q.signature = Buffer.alloc(64);
  const out = encodeQuote(q);
  o.editSigned?.(out.subarray(0, q.signedLength));
  sign('sha256', out.subarray(0, q.signedLength), { key: att, dsaEncoding: 'ieee-p1363' }).copy(out, q.signedLength + 4);
  return out;
}

/** The simulator's PCK private key (held by its PCE). */
export function simPckKey(stateDir: string): KeyObject {
  return createPrivateKey(readFileSync(join(stateDir, StateFiles.pckKey), 'utf8'));
}

export function pemList(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

export async function cryptoKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

/** A KeyObject of a WebCrypto private key (to sign JSON and quotes with node:crypto). */
export async function keyObjectOf(keys: CryptoKeyPair): Promise<KeyObject> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

export interface CertSpec {
  cn: string;
  keys: CryptoKeyPair;
  /** Signs the certificate (default: `keys`, self-signed). */
  signer?: CryptoKeyPair;
  /** Issuer DN (default: the signer certificate's subject, or our own for self-signed). */
  issuerName?: x509.Name;
  ca: boolean;
  notBefore?: Date;
  notAfter?: Date;
  /** Leave out one of QVL's required extensions (by OID). */
  omit?: string;
  keyUsage?: number;
  extra?: x509.Extension[];
  serial?: string;
}

let serialCounter = 1;

/** A certificate shaped like Intel's (the extensions QVL requires), with knobs to get each one wrong. */
export async function makeCert(s: CertSpec): Promise<x509.X509Certificate> {
  const signer = s.signer ?? s.keys;
  const usage = s.keyUsage ?? (s.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation);
  const exts: x509.Extension[] = [
    await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey),
    new x509.CRLDistributionPointsExtension(['https://example.invalid/crl']),
    await x509.SubjectKeyIdentifierExtension.create(s.keys.publicKey),
    new x509.KeyUsagesExtension(usage, true),
    new x509.BasicConstraintsExtension(s.ca, s.ca ? 1 : undefined, true),
    ...(s.extra ?? []),
  ].filter((e) => e.type !== s.omit);
  return x509.X509CertificateGenerator.create({
    serialNumber: s.serial ?? `7e57${(serialCounter++).toString(16).padStart(8, '0')}`,
    subject: intelName(s.cn),
    issuer: s.issuerName ?? intelName(s.cn),
    notBefore: s.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: s.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    publicKey: s.keys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: EC_ALG,
    extensions: exts,
  });
}

export function pemOf(c: x509.X509Certificate): string {
  return c.toString('pem');
}

export function issuedOf(cert: x509.X509Certificate, keys: CryptoKeyPair): Issued {
  return { cert, keys } as Issued;
}
