import 'reflect-metadata';
import { X509Crl } from '@peculiar/x509';
import { PcsError } from './errors.js';

/**
 * CRLs arrive as raw DER (Intel PCS with encoding=der, Intel's root CRL URL), PEM (PCS default
 * encoding), or hex text of the DER (PCCS /rootcacrl, dcap-qvl bundles). Normalise to DER.
 */
export function decodeCrlBody(body: Buffer, what = 'CRL'): Buffer {
  if (body.length > 0 && body[0] === 0x30) return Buffer.from(body);
  const text = body.toString('latin1').trim();
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  if (pem) return Buffer.from(pem[1].replace(/\s+/g, ''), 'base64');
  if (text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) {
    const der = Buffer.from(text, 'hex');
    if (der[0] === 0x30) return der;
  }
  throw new PcsError('BAD_RESPONSE', `${what} is neither DER, PEM nor hex-encoded DER`);
}

export interface CrlValidity {
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
}

/** Issuer and validity window of a DER CRL (used for cache freshness, not for trust decisions). */
export function crlValidity(der: Buffer, what = 'CRL'): CrlValidity {
  try {
    const crl = new X509Crl(der);
    return { issuer: crl.issuer, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate };
  } catch (err) {
    throw new PcsError('BAD_RESPONSE', `${what} is not a parsable X.509 CRL: ${(err as Error).message}`, { cause: err });
  }
}
