import {
  CertificateCache,
  CertificateParseError,
  KeyUsage,
  REQUIRED_CERT_EXTENSIONS,
  pemCertificates,
  signedBy,
  type ParsedCertificate,
} from './certificate.js';
import { VerificationError, type VerifyReason } from './reasons.js';

/** A trusted root, parsed once per verifier. `intel` = the embedded Intel production root (same key). */
export interface TrustAnchor {
  cert: ParsedCertificate;
  intel: boolean;
}

export const CN_PHRASE = {
  root: 'SGX Root CA',
  intermediate: 'CA',
  pck: 'SGX PCK Certificate',
  tcbSigning: 'SGX TCB Signing',
} as const;

/** Exactly `expected` certificates, parsed (once per content, through the verifier's cache), in order. */
export async function parseChain(
  pem: string | Buffer[],
  expected: number,
  certs: CertificateCache,
  formatReason: VerifyReason,
  what: string,
): Promise<ParsedCertificate[]> {
  const ders = typeof pem === 'string' ? pemCertificates(pem) : pem;
  if (ders.length !== expected) {
    throw new VerificationError(formatReason, `${what} has ${ders.length} certificates, expected exactly ${expected}`);
  }
  const out: ParsedCertificate[] = [];
  for (const [i, der] of ders.entries()) {
    try {
      out.push(certs.get(der));
    } catch (e) {
      if (e instanceof CertificateParseError) throw new VerificationError(formatReason, `${what} certificate ${i}: ${e.message}`);
      throw e;
    }
  }
  return out;
}

function hasRequiredExtensions(c: ParsedCertificate): string | undefined {
  const missing = REQUIRED_CERT_EXTENSIONS.filter((oid) => !c.extensions.has(oid));
  return missing.length ? `lacks required extension(s) ${missing.join(', ')}` : undefined;
}

function caProblem(c: ParsedCertificate): string | undefined {
  if (!c.basicConstraints?.ca) return 'is not a CA (basicConstraints)';
  const ku = c.keyUsage ?? 0;
  if (!(ku & KeyUsage.keyCertSign) || !(ku & KeyUsage.cRLSign)) return 'lacks keyCertSign/cRLSign key usage';
  return undefined;
}

function leafProblem(c: ParsedCertificate): string | undefined {
  if (c.basicConstraints?.ca) return 'is a CA certificate used as an end entity';
  if (!((c.keyUsage ?? 0) & KeyUsage.digitalSignature)) return 'lacks digitalSignature key usage';
  return undefined;
}

/** Find the trusted root this chain root is (QVL: signature bytes equal; QvE: same public key). */
export function anchorFor(root: ParsedCertificate, anchors: TrustAnchor[]): TrustAnchor | undefined {
  return anchors.find((a) => a.cert.signature.equals(root.signature) && a.cert.spki.equals(root.spki));
}

/**
 * Structural checks of a chain leaf ‖ [intermediate ‖] root (spec §5.C1–C3 / §5.D2): CN phrases, QVL's
 * required extensions, key usage / basic constraints, issuer names and signatures, trust anchoring.
 */
export function checkChain(
  chain: ParsedCertificate[],
  phrases: string[],
  anchors: TrustAnchor[],
  invalid: VerifyReason,
  untrusted: VerifyReason,
  what: string,
): TrustAnchor {
  const fail = (msg: string): never => {
    throw new VerificationError(invalid, `${what}: ${msg}`);
  };
  chain.forEach((c, i) => {
    if (!c.subjectCN.includes(phrases[i])) fail(`certificate ${i} CN "${c.subjectCN}" does not contain "${phrases[i]}"`);
  });
  chain.forEach((c, i) => {
    const p = hasRequiredExtensions(c) ?? (i === 0 ? leafProblem(c) : caProblem(c));
    if (p) fail(`certificate ${i} ("${c.subjectCN}") ${p}`);
  });
  const root = chain[chain.length - 1];
  if (!root.issuerRaw.equals(root.subjectRaw) || !signedBy(root, root.publicKey)) fail('root is not self-issued and self-signed');
  for (let i = chain.length - 2; i >= 0; i--) {
    const issuer = chain[i + 1];
    if (!chain[i].issuerRaw.equals(issuer.subjectRaw)) fail(`certificate ${i} issuer is not "${issuer.subjectCN}"`);
    if (!signedBy(chain[i], issuer.publicKey)) fail(`certificate ${i} ("${chain[i].subjectCN}") signature does not verify with its issuer's key`);
  }
  const anchor = anchorFor(root, anchors);
  if (!anchor) throw new VerificationError(untrusted, `${what}: root "${root.subjectCN}" (sha256 ${root.fingerprint}) is not a trusted root`);
  return anchor;
}
