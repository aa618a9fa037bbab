import { createHash, type KeyObject } from 'node:crypto';
import { OID, signedBy } from './certificate.js';
import {
  DerError,
  Tag,
  bitStringBytes,
  children,
  commonName,
  integerBytes,
  isContext,
  isTag,
  isTime,
  octets,
  oidOf,
  parseDer,
  rawOf,
  serialHex,
  timeOf,
} from './der.js';

/** An X.509 v2 CRL parsed once: issuer, window, extensions and the set of revoked serials. */
export interface ParsedCrl {
  der: Buffer;
  fingerprint: string;
  issuerRaw: Buffer;
  issuerCN: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  extensionOids: Set<string>;
  revoked: Set<string>;
  tbs: Buffer;
  signature: Buffer;
  signatureAlgorithm: string;
}

export class CrlParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrlParseError';
  }
}

export function parseCrl(input: Buffer): ParsedCrl {
  try {
    // Our own copy: every field below is a view into it, so the caller's buffer may change afterwards.
    const der = Buffer.from(input);
    const top = children(parseDer(der, 'CRL'), 'CertificateList');
    if (top.length !== 3) throw new DerError('CertificateList: expected 3 elements');
    const [tbsEl, algEl, sigEl] = top;
    const tbs = children(tbsEl, 'TBSCertList');
    let i = 0;
    if (isTag(tbs[0], Tag.integer)) i++; // version v2
    i++; // inner signature algorithm
    const issuerEl = tbs[i++];
    if (!issuerEl) throw new DerError('TBSCertList: missing issuer');
    const thisUpdate = timeOf(tbs[i++], 'thisUpdate');
    let nextUpdate: Date | undefined;
    if (isTime(tbs[i])) nextUpdate = timeOf(tbs[i++], 'nextUpdate');
    const revoked = new Set<string>();
    if (isTag(tbs[i], Tag.sequence)) {
      for (const entry of children(tbs[i++], 'revokedCertificates')) {
        revoked.add(serialHex(integerBytes(children(entry, 'revokedCertificate')[0], 'userCertificate')));
      }
    }
    const extensionOids = new Set<string>();
    let crlNumber: bigint | undefined;
    if (isContext(tbs[i], 0)) {
      for (const ext of children(children(tbs[i], 'crlExtensions')[0], 'Extensions')) {
        const parts = children(ext, 'Extension');
        const oid = oidOf(parts[0], 'extnID');
        extensionOids.add(oid);
        if (oid === OID.crlNumber) {
          const value = octets(parts[parts.length - 1], 'cRLNumber');
          const n = integerBytes(parseDer(value, 'cRLNumber'), 'cRLNumber');
          crlNumber = n.length ? BigInt(`0x${n.toString('hex')}`) : 0n;
        }
      }
    }
    return {
      der,
      fingerprint: createHash('sha256').update(der).digest('hex'),
      issuerRaw: rawOf(issuerEl),
      issuerCN: commonName(issuerEl),
      thisUpdate,
      ...(nextUpdate ? { nextUpdate } : {}),
      ...(crlNumber !== undefined ? { crlNumber } : {}),
      extensionOids,
      revoked,
      tbs: rawOf(tbsEl),
      signature: bitStringBytes(sigEl, 'signature'),
      signatureAlgorithm: oidOf(children(algEl, 'signatureAlgorithm')[0], 'signatureAlgorithm'),
    };
  } catch (e) {
    throw new CrlParseError(e instanceof Error ? e.message : String(e));
  }
}

/** True when the CRL carries a valid ecdsa-with-SHA256 signature by `issuerKey` (the same check as a certificate's). */
export function crlSignedBy(crl: ParsedCrl, issuerKey: KeyObject): boolean {
  return signedBy(crl, issuerKey);
}

/** QVL's `CRL_REQUIRED_EXTENSIONS`: CRL Number and Authority Key Identifier. */
export function crlHasRequiredExtensions(crl: ParsedCrl): boolean {
  return crl.extensionOids.has(OID.crlNumber) && crl.extensionOids.has(OID.authorityKeyIdentifier);
}
