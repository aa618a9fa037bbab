import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import { EC_ALG, type Issued } from './pki.js';
import { wholeSeconds } from './pcs-date.js';

/**
 * X.509 v2 CRLs with CRL Number and Authority Key Identifier (both required by Intel's QVL, spec §4.3).
 * Serialised as DER; PEM uses the `X509 CRL` label (OpenSSL rejects @peculiar's default `CRL` label).
 */

const CRL_NUMBER_OID = '2.5.29.20';

export interface CrlParams {
  issuer: Issued;
  thisUpdate: Date;
  /** Optional in X.509 (a CRL without it never expires); the sim's own CRLs always carry one. */
  nextUpdate?: Date;
  crlNumber: number;
  /** Hex serial numbers to list as revoked. */
  revokedSerials?: string[];
}

export async function createCrl(p: CrlParams): Promise<Buffer> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: p.issuer.cert.subjectName,
    thisUpdate: wholeSeconds(p.thisUpdate),
    ...(p.nextUpdate ? { nextUpdate: wholeSeconds(p.nextUpdate) } : {}),
    signingAlgorithm: EC_ALG,
    signingKey: p.issuer.keys.privateKey,
    extensions: [
      new x509.Extension(CRL_NUMBER_OID, false, new asn1js.Integer({ value: p.crlNumber }).toBER()),
      await x509.AuthorityKeyIdentifierExtension.create(p.issuer.keys.publicKey),
    ],
    entries: (p.revokedSerials ?? []).map((serialNumber) => ({ serialNumber, revocationDate: wholeSeconds(p.thisUpdate) })),
  });
  return Buffer.from(crl.rawData);
}

export function crlPem(der: Buffer): string {
  return x509.PemConverter.encode(der, 'X509 CRL') + '\n';
}
