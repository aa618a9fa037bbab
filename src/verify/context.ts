import { createHash } from 'node:crypto';
import type { Collateral } from '../pcs/types.js';
import { CertificateCache, CertificateParseError, pemCertificates, signedBy, type ParsedCertificate } from './certificate.js';
import { CN_PHRASE, checkChain, parseChain, type TrustAnchor } from './chain.js';
import { CrlParseError, crlHasRequiredExtensions, crlSignedBy, parseCrl, type ParsedCrl } from './crl.js';
import { CollateralJsonError } from './json-fields.js';
import { parseEnclaveIdentity, type EnclaveIdentity } from './qe-identity.js';
import { VerificationError, type VerifyReason } from './reasons.js';
import { parseTcbInfo, type TcbInfo } from './tcb-info.js';
import { verify as cryptoVerify } from 'node:crypto';
import { compactJsonText } from './compact-json.js';
import { setBounded } from './bounded-map.js';

/** A validity window to test against `now` on every call (the checks themselves are cached). */
export interface TimedItem {
  item: string;
  reason: VerifyReason;
  notBefore?: Date;
  notAfter?: Date;
}

/** Everything about one PCK chain + collateral set that does not depend on the quote body or the time. */
export interface VerifiedContext {
  pckChain: ParsedCertificate[];
  anchor: TrustAnchor;
  tcbInfo: TcbInfo;
  qeIdentity: EnclaveIdentity;
  timed: TimedItem[];
  /** How the TCB info and QE identity signatures verified. */
  signedForms: { tcbInfo: SignedJsonForm; qeIdentity: SignedJsonForm };
  earliestIssue: Date;
  earliestExpiration: Date;
  /** The two dates above as ISO text, filled in by the verifier on first use (Date#toISOString costs ~1 µs). */
  iso?: { earliestIssue: string; earliestExpiration: string };
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: VerificationError };

/** Which text the signature verified over: the bytes as given, or their compact form (whitespace outside strings removed). */
export type SignedJsonForm = 'exact' | 'compact';

interface SignedJson<T> {
  value: T;
  chain: ParsedCertificate[];
  anchor: TrustAnchor;
  signedForm: SignedJsonForm;
}

/** Shared parse caches of one verifier: certificates and CRLs by fingerprint, signed JSON by collateral set. */
export class CollateralChecker {
  readonly certs: CertificateCache;
  private readonly crls = new Map<string, { ok: true; value: ParsedCrl } | { ok: false; detail: string }>();
  private readonly signed = new Map<string, Outcome<SignedJson<TcbInfo | EnclaveIdentity>>>();

  constructor(
    private readonly anchors: TrustAnchor[],
    private readonly max = 1024,
  ) {
    this.certs = new CertificateCache(max * 4);
  }

  private remember<K, V>(map: Map<K, V>, key: K, value: V): V {
    return setBounded(map, key, value, this.max);
  }

  crl(der: Buffer, what: string): ParsedCrl {
    const fp = createHash('sha256').update(der).digest('hex');
    let o = this.crls.get(fp);
    if (!o) {
      try {
        o = { ok: true, value: parseCrl(der) };
      } catch (e) {
        if (!(e instanceof CrlParseError)) throw e;
        o = { ok: false, detail: e.message };
      }
      this.remember(this.crls, fp, o);
    }
    if (!o.ok) throw new VerificationError('CRL_FORMAT', `${what}: ${o.detail}`);
    return o.value;
  }

  /** Spec §5.C4: issuer DN, CRL Number + AKI, signature by the issuing CA. */
  checkCrlIssuedBy(crl: ParsedCrl, issuer: ParsedCertificate, what: string): void {
    if (!crl.issuerRaw.equals(issuer.subjectRaw)) {
      throw new VerificationError('CRL_UNKNOWN_ISSUER', `${what} issuer "${crl.issuerCN}" is not "${issuer.subjectCN}"`);
    }
    if (!crlHasRequiredExtensions(crl)) throw new VerificationError('CRL_INVALID_EXTENSIONS', `${what} lacks CRL Number or Authority Key Identifier`);
    if (!crlSignedBy(crl, issuer.publicKey)) throw new VerificationError('CRL_INVALID_SIGNATURE', `${what} signature does not verify with "${issuer.subjectCN}"`);
  }

  /** Spec §5.D / §5.E: parse, signing chain (exactly 2), root CRL, signer not revoked, S4/S5 over the exact bytes. */
  private async signedJson<T extends TcbInfo | EnclaveIdentity>(
    c: Collateral,
    kind: 'tcbInfo' | 'qeIdentity',
    setKey: string | undefined,
  ): Promise<SignedJson<T>> {
    const key = setKey === undefined ? undefined : `${setKey}:${kind}`;
    let o = key === undefined ? undefined : this.signed.get(key);
    if (!o) {
      try {
        o = { ok: true, value: await this.checkSignedJson(c, kind) };
      } catch (e) {
        if (!(e instanceof VerificationError)) throw e;
        o = { ok: false, error: e };
      }
      if (key !== undefined) this.remember(this.signed, key, o);
    }
    if (!o.ok) throw o.error;
    return o.value as SignedJson<T>;
  }

  private async checkSignedJson(c: Collateral, kind: 'tcbInfo' | 'qeIdentity'): Promise<SignedJson<TcbInfo | EnclaveIdentity>> {
    const tcb = kind === 'tcbInfo';
    const label = tcb ? 'TCB info' : 'QE identity';
    let value: TcbInfo | EnclaveIdentity;
    try {
      value = tcb ? parseTcbInfo(c.tcbInfoBody) : parseEnclaveIdentity(c.qeIdentityBody);
    } catch (e) {
      if (!(e instanceof CollateralJsonError)) throw e;
      throw new VerificationError(tcb ? 'TCB_INFO_FORMAT' : 'QE_IDENTITY_FORMAT', `${label}: ${e.message}`);
    }
    const chainPem = tcb ? c.tcbInfoIssuerChain : c.qeIdentityIssuerChain;
    const chain = await parseChain(chainPem, 2, this.certs, 'TCB_SIGNING_CHAIN_FORMAT', `${label} issuer chain`);
    const anchor = checkChain(chain, [CN_PHRASE.tcbSigning, CN_PHRASE.root], this.anchors, 'TCB_SIGNING_CHAIN_INVALID',
      'TCB_SIGNING_CHAIN_UNTRUSTED', `${label} issuer chain`);
    const rootCrl = this.crl(c.rootCaCrl, 'root CA CRL');
    this.checkCrlIssuedBy(rootCrl, chain[1], 'root CA CRL');
    if (rootCrl.revoked.has(chain[0].serial)) {
      throw new VerificationError('TCB_SIGNING_CERT_REVOKED', `${label} signing certificate (serial ${chain[0].serial}) is revoked by the root CA CRL`);
    }
    const sig = tcb ? c.tcbInfoSignature : c.qeIdentitySignature;
    const text = tcb ? c.tcbInfoBody : c.qeIdentityBody;
    const verifies = (bytes: string): boolean => {
      if (sig.length !== 64) return false;
      try {
        return cryptoVerify('sha256', Buffer.from(bytes, 'utf8'), { key: chain[0].publicKey, dsaEncoding: 'ieee-p1363' }, sig);
      } catch {
        return false;
      }
    };
    // The exact bytes first; else, as Intel's QVL does, the compact form (whitespace outside strings removed):
    // the same content Intel signed, re-spaced after it left Intel (e.g. pretty-printed in a collateral file).
    let signedForm: SignedJsonForm = 'exact';
    if (!verifies(text)) {
      const compact = compactJsonText(text);
      if (compact === text || !verifies(compact)) {
        throw new VerificationError(tcb ? 'TCB_INFO_INVALID_SIGNATURE' : 'QE_IDENTITY_INVALID_SIGNATURE',
          `${label} signature does not verify with the TCB Signing key, neither over the exact JSON bytes nor over their compact form`);
      }
      signedForm = 'compact';
    }
    return { value, chain, anchor, signedForm };
  }

  /**
   * Spec §5.C then §5.D, §5.E, in that order, for one PCK chain and collateral set. Expirations are not
   * judged here: their windows are returned for the caller to test against `now`. `setKey` (from
   * CollateralSets: unique per content) lets the signed JSON checks be reused; without it nothing is kept.
   */
  async check(pckChain: ParsedCertificate[], c: Collateral, setKey?: string): Promise<VerifiedContext> {
    const [leaf, inter, root] = pckChain;
    // C1–C3
    const anchor = checkChain(pckChain, [CN_PHRASE.pck, CN_PHRASE.intermediate, CN_PHRASE.root], this.anchors,
      'PCK_CHAIN_INVALID', 'PCK_CHAIN_UNTRUSTED', 'PCK certificate chain');
    // C4
    const rootCrl = this.crl(c.rootCaCrl, 'root CA CRL');
    const pckCrl = this.crl(c.pckCrl, 'PCK CRL');
    this.checkCrlIssuedBy(rootCrl, root, 'root CA CRL');
    if (!pckCrl.issuerCN.includes(CN_PHRASE.intermediate)) {
      throw new VerificationError('CRL_UNKNOWN_ISSUER', `PCK CRL issuer "${pckCrl.issuerCN}" does not contain "CA"`);
    }
    this.checkCrlIssuedBy(pckCrl, inter, 'PCK CRL');
    // C5
    if (rootCrl.revoked.has(inter.serial)) {
      throw new VerificationError('INTERMEDIATE_REVOKED', `PCK CA "${inter.subjectCN}" (serial ${inter.serial}) is revoked by the root CA CRL`);
    }
    if (pckCrl.revoked.has(leaf.serial)) throw new VerificationError('PCK_REVOKED', `PCK certificate (serial ${leaf.serial}) is revoked by the PCK CRL`);
    // D, E
    const tcb = await this.signedJson<TcbInfo>(c, 'tcbInfo', setKey);
    if (tcb.anchor !== anchor) {
      throw new VerificationError('TCB_SIGNING_CHAIN_UNTRUSTED', 'TCB info is signed under a different trusted root than the PCK chain');
    }
    const qe = await this.signedJson<EnclaveIdentity>(c, 'qeIdentity', setKey);
    if (qe.anchor !== anchor) {
      throw new VerificationError('TCB_SIGNING_CHAIN_UNTRUSTED', 'QE identity is signed under a different trusted root than the PCK chain');
    }
    // Intel uses the PCK CRL issuer chain only for the collateral dates.
    const crlChain: ParsedCertificate[] = [];
    try {
      for (const d of pemCertificates(c.pckCrlIssuerChain)) crlChain.push(this.certs.get(d));
    } catch (e) {
      if (!(e instanceof CertificateParseError)) throw e;
      throw new VerificationError('COLLATERAL_FORMAT', `PCK CRL issuer chain: ${e.message}`);
    }
    const timed: TimedItem[] = [];
    const names = ['pckCertificate', 'pckCaCertificate', 'rootCaCertificate'];
    pckChain.forEach((cert, i) => timed.push({ item: names[i], reason: 'PCK_CERT_EXPIRED', notAfter: cert.notAfter }));
    timed.push({ item: 'rootCaCrl', reason: 'CRL_EXPIRED', notBefore: rootCrl.thisUpdate, ...(rootCrl.nextUpdate ? { notAfter: rootCrl.nextUpdate } : {}) });
    timed.push({ item: 'pckCrl', reason: 'CRL_EXPIRED', notBefore: pckCrl.thisUpdate, ...(pckCrl.nextUpdate ? { notAfter: pckCrl.nextUpdate } : {}) });
    const seen = new Set(pckChain.map((x) => x.fingerprint));
    const signers: Array<[string, ParsedCertificate[]]> = [
      ['tcbInfoIssuerChain', tcb.chain],
      ['qeIdentityIssuerChain', qe.chain],
      ['pckCrlIssuerChain', crlChain],
    ];
    for (const [label, chain] of signers) {
      chain.forEach((cert, i) => {
        if (seen.has(cert.fingerprint)) return;
        seen.add(cert.fingerprint);
        timed.push({ item: `${label}[${i}]`, reason: 'SIGNING_CHAIN_EXPIRED', notAfter: cert.notAfter });
      });
    }
    timed.push({ item: 'tcbInfo', reason: 'TCB_INFO_EXPIRED', notAfter: tcb.value.nextUpdate });
    timed.push({ item: 'qeIdentity', reason: 'QE_IDENTITY_EXPIRED', notAfter: qe.value.nextUpdate });
    const issues = [tcb.value.issueDate, qe.value.issueDate, rootCrl.thisUpdate, pckCrl.thisUpdate];
    const expirations = timed.filter((t) => t.notAfter).map((t) => t.notAfter as Date);
    return {
      pckChain,
      anchor,
      tcbInfo: tcb.value,
      qeIdentity: qe.value,
      timed,
      signedForms: { tcbInfo: tcb.signedForm, qeIdentity: qe.signedForm },
      earliestIssue: new Date(Math.min(...issues.map((d) => d.getTime()))),
      earliestExpiration: new Date(Math.min(...expirations.map((d) => d.getTime()))),
    };
  }
}

/** Trusted roots must be self-signed CA certificates (QVL `TRUSTED_ROOT_CA_INVALID`). */
export function trustedRootProblem(cert: ParsedCertificate): string | undefined {
  if (!cert.issuerRaw.equals(cert.subjectRaw) || !signedBy(cert, cert.publicKey)) return 'is not self-signed';
  if (!cert.basicConstraints?.ca) return 'is not a CA certificate';
  return undefined;
}

/**
 * Which timed items the time `t` falls outside of (QVL: notAfter for certs and JSON, both ends for CRLs).
 * An item is expired from its notAfter on: QvE sets `collateral_expiration_status` when
 * `earliest_expiration_date <= expiration_check_date`, so the very second of expiry already counts.
 */
export function expiredAt(timed: TimedItem[], t: Date) {
  const ms = t.getTime();
  return timed.filter((x) => (x.notBefore !== undefined && ms < x.notBefore.getTime()) || (x.notAfter !== undefined && ms >= x.notAfter.getTime()));
}
