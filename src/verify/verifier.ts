import { createHash, type KeyObject } from 'node:crypto';
import { CollateralFormatError } from '../pcs/bundle.js';
import type { Collateral, CollateralSource } from '../pcs/types.js';
import {
  CertType,
  INTEL_QE_VENDOR_ID,
  SgxParseError,
  TEE_TYPE_TDX,
  parseQuote,
  SGX_EXTENSION_OID,
  orderChainLeafFirst,
  parsePckExtension,
  type PckExtension,
  type Quote,
} from '../sgx/index.js';
import { certificateBytes, importP256Point, parseCertificate, pemCertificates, type ParsedCertificate } from './certificate.js';
import { CollateralSets } from './collateral-sets.js';
import { anchorFor, parseChain, type TrustAnchor } from './chain.js';
import { CollateralChecker, expiredAt, trustedRootProblem, type VerifiedContext } from './context.js';
import { enclaveIdentityOf, tdIdentityOf } from './identity.js';
import { INTEL_SGX_ROOT_CA_PEM } from './intel-root.js';
import { evaluatePolicy, type Policy } from './policy.js';
import { SignatureMemo, verifyP1363 } from './signature-memo.js';
import { EXPIRATION_REASONS, VerificationError, type VerifyReason } from './reasons.js';
import type { ExpiredItem, VerificationResult } from './result.js';
import { qvResultFor, qvResultName, statusForFailure, type VerificationStatus } from './status.js';
import { checkTdxModule, matchQeIdentity, platformStatus, type TdxTcbInput } from './tcb-match.js';
import { setBounded } from './bounded-map.js';

export interface VerifierOptions {
  /** A fixed collateral set (e.g. from a bundle file). Takes precedence over `source`. */
  collateral?: Collateral;
  /** Where to get collateral per platform (PCS/PCCS client, SQLite cache…); HTTP is injected there. */
  source?: CollateralSource;
  /** Trust anchors (PEM or DER). Default: Intel's production root only. Any other root marks results simulated. */
  trustedRoots?: (string | Buffer)[];
  /** The verification time (default: the wall clock at each call). */
  now?: Date | (() => Date);
  policy?: Policy;
  /** Bound of each cache (entries). */
  maxCacheEntries?: number;
  /**
   * Remember QE report signatures that verified, by the exact bytes of PCK key, QE report and signature
   * (default true): a platform's quotes all carry the same QE report, so a warm verification then does one
   * ECDSA verify (the quote's) instead of two. False verifies every QE report signature every time.
   */
  memoizeQeReportSignatures?: boolean;
}

export interface VerifyCallOptions {
  collateral?: Collateral;
  now?: Date;
  policy?: Policy;
}

export interface QuoteVerifier {
  verify(quote: Buffer | Uint8Array | Quote, opts?: VerifyCallOptions): Promise<VerificationResult>;
  /** Verified-context cache entries (one per PCK chain × collateral set). */
  readonly cacheSize: number;
}

/** Invalid verifier options: a trusted root that is not a self-signed CA certificate, or an invalid `now`. */
export class VerifierConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifierConfigError';
  }
}

/**
 * A value, or a promise of it: cache hits answer synchronously, since on a warm verification every
 * `await` of an already-known value would still cost a turn of the microtask queue.
 */
type Sync<T> = T | Promise<T>;

/**
 * KeyObject of an attestation key. Importing a key costs about as much as an ECDSA verify, and a platform
 * signs every quote with the same key until it rotates, so keys are kept (bounded) by their bytes.
 */
function attestationKey(xy: Buffer, cache: Map<string, KeyObject>, max: number): Sync<KeyObject> {
  const id = xy.toString('hex');
  return cache.get(id) ?? importAttestationKey(xy, id, cache, max);
}

async function importAttestationKey(xy: Buffer, id: string, cache: Map<string, KeyObject>, max: number): Promise<KeyObject> {
  const key = xy.length === 64 ? await importP256Point(Buffer.concat([Buffer.from([4]), xy])) : undefined;
  if (!key) throw new VerificationError('QUOTE_FORMAT', 'the attestation public key is not a valid P-256 point');
  return setBounded(cache, id, key, max);
}

function allZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** The smallest non-empty ISO date text (ISO dates sort as text), or undefined when there is none. */
function earliestDate(dates: string[]): string | undefined {
  let first: string | undefined;
  for (const d of dates) if (d && (first === undefined || d < first)) first = d;
  return first;
}

/** `length` bytes of `b` from `offset`, without a copy (Buffer#subarray's species lookup costs ~1 µs per call). */
function view(b: Buffer, offset: number, length: number): Buffer {
  if (offset + length > b.length) throw new VerificationError('QUOTE_FORMAT', 'a quote field lies outside the quote');
  return Buffer.from(b.buffer, b.byteOffset + offset, length);
}

function caTypeOf(intermediate: ParsedCertificate): 'processor' | 'platform' {
  return /platform/i.test(intermediate.subjectCN) ? 'platform' : 'processor';
}

function buildAnchors(roots: (string | Buffer)[] | undefined, intelKey: Buffer, checker: { get(der: Buffer): ParsedCertificate }): TrustAnchor[] {
  const inputs = roots ?? [INTEL_SGX_ROOT_CA_PEM];
  const anchors: TrustAnchor[] = [];
  for (const input of inputs) {
    const ders = certificateBytes(input);
    if (ders.length === 0) throw new VerifierConfigError('a trusted root holds no certificate');
    for (const der of ders) {
      let cert: ParsedCertificate;
      try {
        cert = checker.get(der);
      } catch (e) {
        throw new VerifierConfigError(`a trusted root does not parse: ${(e as Error).message}`);
      }
      const problem = trustedRootProblem(cert);
      if (problem) throw new VerifierConfigError(`trusted root "${cert.subjectCN}" ${problem}`);
      anchors.push({ cert, intel: cert.spki.equals(intelKey) });
    }
  }
  return anchors;
}

/** The embedded Intel root, parsed once per process: it is a constant of this program, like its PEM text. */
let intelRoot: ParsedCertificate | undefined;
function intelRootCertificate(): ParsedCertificate {
  intelRoot ??= parseCertificate(pemCertificates(INTEL_SGX_ROOT_CA_PEM)[0]);
  return intelRoot;
}

/** The PCK certificate's SGX extension, from the extension the certificate parse already found. */
function pckExtensionOf(leaf: ParsedCertificate): PckExtension {
  const ext = leaf.extensions.get(SGX_EXTENSION_OID);
  if (!ext) throw new VerificationError('PCK_CERT_FORMAT', `PCK certificate SGX extension: no SGX extension (${SGX_EXTENSION_OID})`);
  try {
    return parsePckExtension(ext.value);
  } catch (e) {
    if (e instanceof SgxParseError) throw new VerificationError('PCK_CERT_FORMAT', `PCK certificate SGX extension: ${e.message}`);
    throw e;
  }
}

/** The last 128 characters of each PEM certificate (its signature in base64, then the END line): a lookup probe, never the identity. */
function chainProbe(pems: string[]): string {
  let probe = `${pems.length}`;
  for (const pem of pems) probe += `|${pem.slice(-128)}`;
  return probe;
}

function samePems(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A parsed PCK chain (leaf first) with its leaf's SGX extension, or why it is unusable. */
type PckChainOutcome = { chain: ParsedCertificate[]; pck: PckExtension; key: string } | { error: VerificationError };

/**
 * A verifier holding its caches: parsed certificates by fingerprint, CRLs, signed TCB info / QE identity,
 * and the verified context of each PCK chain × collateral set (until the collateral's earliest expiration).
 */
export function createVerifier(opts: VerifierOptions = {}): QuoteVerifier {
  const max = opts.maxCacheEntries ?? 1024;
  const anchors: TrustAnchor[] = [];
  const checker = new CollateralChecker(anchors, max);
  const intel = intelRootCertificate();
  checker.certs.seed(intel);
  anchors.push(...buildAnchors(opts.trustedRoots, intel.spki, checker.certs));
  const attestationKeys = new Map<string, KeyObject>();
  const contexts = new Map<string, { ctx?: VerifiedContext; error?: VerificationError }>();
  const collateralSets = new CollateralSets(max);
  const quoteChains = new Map<string, { pems: string[]; outcome: PckChainOutcome }>();
  const collateralChains = new Map<string, PckChainOutcome>();
  const qeReportSignatures = new SignatureMemo(opts.memoizeQeReportSignatures === false ? 0 : max);

  /**
   * The PCK chain of a quote (or of the collateral), parsed once per distinct chain. A quote's chain is
   * found by a short probe (the tail of each certificate's PEM: its signature, which differs between any
   * two certificates) and then compared certificate by certificate with the kept copy (string equality),
   * so a chain differing in any character is parsed and checked on its own, without joining and hashing
   * 3-4 KB of PEM per call. A collateral's chain (certification data types 1-4) is keyed by its text.
   */
  function pckChainFor(pems: string[] | undefined, collateralPem: string | undefined): PckChainOutcome | Promise<PckChainOutcome> | undefined {
    if (pems) {
      const probe = chainProbe(pems);
      const hit = quoteChains.get(probe);
      if (hit && samePems(hit.pems, pems)) return hit.outcome;
      const copy = [...pems];
      // The leaf-first order is taken before any await.
      return loadPckChain(orderChainLeafFirst(copy).join('\n'), (outcome) => setBounded(quoteChains, probe, { pems: copy, outcome }, max));
    }
    if (collateralPem === undefined) return undefined;
    const text = collateralPem;
    return collateralChains.get(text) ?? loadPckChain(text, (outcome) => setBounded(collateralChains, text, outcome, max));
  }

  async function loadPckChain(pem: string, keep: (o: PckChainOutcome) => void): Promise<PckChainOutcome> {
    let o: PckChainOutcome;
    try {
      const chain = await parseChain(pem, 3, checker.certs, 'PCK_CHAIN_FORMAT', 'PCK certificate chain');
      o = { chain, pck: pckExtensionOf(chain[0]), key: chain.map((c) => c.fingerprint).join(':') };
    } catch (e) {
      if (!(e instanceof VerificationError)) throw e;
      o = { error: e };
    }
    keep(o);
    return o;
  }

  function contextFor(chain: ParsedCertificate[], chainKey: string, given: Collateral, now: Date): Sync<VerifiedContext> {
    // The set as this verifier keeps it (found by content); an ill-typed set is checked as given, never kept.
    const set = collateralSets.lookup(given);
    if (!set) return checker.check(chain, given);
    const key = `${chainKey}|${set.key}`;
    const hit = contexts.get(key);
    // A context is reused until its collateral's earliest expiration; after that it is checked again.
    if (hit && (hit.error || (hit.ctx && now.getTime() <= hit.ctx.earliestExpiration.getTime()))) {
      if (hit.error) throw hit.error;
      return hit.ctx as VerifiedContext;
    }
    return checkContext(chain, set.collateral, set.key, key);
  }

  async function checkContext(chain: ParsedCertificate[], collateral: Collateral, setKey: string, key: string): Promise<VerifiedContext> {
    const keep = (entry: { ctx?: VerifiedContext; error?: VerificationError }) => setBounded(contexts, key, entry, max);
    try {
      const ctx = await checker.check(chain, collateral, setKey);
      keep({ ctx });
      return ctx;
    } catch (e) {
      if (e instanceof VerificationError) keep({ error: e });
      throw e;
    }
  }

  async function verify(input: Buffer | Uint8Array | Quote, call: VerifyCallOptions = {}): Promise<VerificationResult> {
    const now = call.now ?? (typeof opts.now === 'function' ? opts.now() : (opts.now ?? new Date()));
    if (!(now instanceof Date) || Number.isNaN(now.getTime())) throw new VerifierConfigError('the verification time (now) is not a valid Date');
    const policy = call.policy ?? opts.policy;
    const r: VerificationResult = {
      ok: false,
      status: 'Invalid',
      qvResult: 0,
      qvResultName: '',
      advisoryIds: [],
      collateralExpired: false,
      expiredCollateral: [],
      simulated: false,
      verifiedAt: now.toISOString(),
      accepted: false,
      policyViolations: [],
    };
    try {
      await run(input, call, now, r);
    } catch (e) {
      let reason: VerifyReason;
      let message: string;
      if (e instanceof VerificationError) {
        reason = e.reason;
        message = e.message;
      } else if (e instanceof CollateralFormatError) {
        reason = 'COLLATERAL_FORMAT';
        message = e.message;
      } else {
        // Never crash a caller on hostile input: an unexpected exception is a failed verification too.
        reason = 'UNEXPECTED_ERROR';
        message = `unexpected error: ${e instanceof Error ? e.message : String(e)}`;
      }
      r.ok = false;
      r.reason = reason;
      r.message = message;
      r.status = statusForFailure(reason);
      delete r.enclave;
      delete r.td;
    }
    r.qvResult = qvResultFor(r.status);
    r.qvResultName = qvResultName(r.qvResult);
    const verdict = evaluatePolicy(r, policy, now);
    r.accepted = verdict.accepted;
    r.policyViolations = verdict.violations;
    return r;
  }

  async function run(input: Buffer | Uint8Array | Quote, call: VerifyCallOptions, now: Date, r: VerificationResult): Promise<void> {
    // B: quote format
    let quote: Quote;
    if (Buffer.isBuffer(input) || input instanceof Uint8Array) {
      try {
        quote = parseQuote(input);
      } catch (e) {
        if (e instanceof SgxParseError) throw new VerificationError('QUOTE_FORMAT', e.message);
        throw e;
      }
    } else {
      quote = input;
    }
    r.quoteVersion = quote.version;
    r.trailingDataLength = quote.trailing.length;
    r.trailingDataAllZero = allZero(quote.trailing);
    r.teeType = quote.header.teeType === TEE_TYPE_TDX ? 'TDX' : 'SGX';
    if (!quote.header.vendorId.equals(INTEL_QE_VENDOR_ID)) {
      throw new VerificationError('QUOTE_FORMAT', `QE vendor id ${quote.header.vendorId.toString('hex')} is not Intel's`);
    }
    const given = call.collateral ?? opts.collateral;

    // A.2/A.3: the PCK chain (exactly 3 certificates)
    const cd = quote.qe.certificationData;
    const chainOrPromise = pckChainFor(cd.type === CertType.PCK_CERT_CHAIN ? cd.certificatesPem : undefined, given?.pckCertificateChain || undefined);
    const parsedChain = chainOrPromise instanceof Promise ? await chainOrPromise : chainOrPromise;
    if (!parsedChain) {
      throw new VerificationError('CERTIFICATION_DATA_UNSUPPORTED',
        `the quote carries certification data type ${quote.qe.certificationData.type}, not a PCK chain (5), and the collateral has no PCK chain`);
    }
    if ('error' in parsedChain) throw parsedChain.error;
    const { chain: pckChain, pck } = parsedChain;
    r.fmspc = pck.fmspc.toString('hex').toUpperCase();
    r.pceId = pck.pceId.toString('hex').toUpperCase();
    r.caType = caTypeOf(pckChain[1]);

    let collateral = given;
    if (!collateral) {
      if (!opts.source) throw new VerificationError('COLLATERAL_MISSING', 'no collateral and no collateral source given');
      try {
        const got = await opts.source.get({ fmspc: r.fmspc, ca: r.caType, tee: r.teeType });
        if (got.stale) r.collateralStale = true;
        collateral = got;
      } catch (e) {
        if (e instanceof CollateralFormatError) throw e;
        throw new VerificationError('COLLATERAL_UNAVAILABLE', `collateral source failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }

    // Simulated = the chain root is an explicitly trusted non-Intel root; known before any later check fails.
    const rootAnchor = anchorFor(pckChain[2], anchors);
    r.simulated = rootAnchor !== undefined && !rootAnchor.intel;

    // C, D, E (cached per chain × collateral); expirations only set the flag (QvE §5.A.7)
    const ctxOrPromise = contextFor(pckChain, parsedChain.key, collateral, now);
    const ctx = ctxOrPromise instanceof Promise ? await ctxOrPromise : ctxOrPromise;
    r.simulated = !ctx.anchor.intel;
    r.rootFingerprint = ctx.anchor.cert.fingerprint;
    ctx.iso ??= { earliestIssue: ctx.earliestIssue.toISOString(), earliestExpiration: ctx.earliestExpiration.toISOString() };
    r.collateralEarliestIssue = ctx.iso.earliestIssue;
    r.collateralEarliestExpiration = ctx.iso.earliestExpiration;
    r.tcbEvaluationDataNumber = ctx.tcbInfo.tcbEvaluationDataNumber;
    r.collateralSignedForms = { ...ctx.signedForms };
    const expired: ExpiredItem[] = expiredAt(ctx.timed, now).map((t) => ({
      item: t.item,
      reason: t.reason,
      ...(t.notBefore ? { notBefore: t.notBefore.toISOString() } : {}),
      ...(t.notAfter ? { notAfter: t.notAfter.toISOString() } : {}),
    }));
    if (expired.some((x) => !EXPIRATION_REASONS.has(x.reason))) throw new Error('internal: non-expiration timed item');
    r.expiredCollateral = expired;
    r.collateralExpired = expired.length > 0;

    // F: quote ↔ collateral binding
    const info = ctx.tcbInfo;
    const tdx = quote.header.teeType === TEE_TYPE_TDX;
    if (info.version >= 3) {
      if ((info.id === 'TDX') !== tdx) throw new VerificationError('TCB_INFO_MISMATCH', `TCB info is for ${info.id}, the quote is ${r.teeType}`);
    } else if (tdx) {
      throw new VerificationError('TCB_INFO_MISMATCH', `TCB info version ${info.version} cannot describe a TDX platform`);
    }
    if (!pck.fmspc.equals(info.fmspc)) {
      throw new VerificationError('TCB_INFO_MISMATCH', `FMSPC ${r.fmspc} of the PCK certificate differs from the TCB info's ${info.fmspc.toString('hex').toUpperCase()}`);
    }
    if (!pck.pceId.equals(info.pceId)) {
      throw new VerificationError('TCB_INFO_MISMATCH', `PCE-ID ${r.pceId} of the PCK certificate differs from the TCB info's ${info.pceId.toString('hex').toUpperCase()}`);
    }
    let tdInput: TdxTcbInput | undefined;
    let moduleIdentity;
    if (tdx) {
      if (quote.body.type === 'sgx') throw new VerificationError('QUOTE_FORMAT', 'a TDX quote carries an SGX report body');
      const td = quote.body.report;
      tdInput = {
        teeTcbSvn: td.teeTcbSvn,
        mrSignerSeam: td.mrSignerSeam,
        seamAttributes: td.seamAttributes,
        ...(quote.body.type === 'td15' ? { teeTcbSvn2: quote.body.report.teeTcbSvn2 } : {}),
      };
      if (info.id === 'TDX') moduleIdentity = checkTdxModule(info, quote.version, tdInput);
    }
    const qeCert = quote.qe;
    const pckLeaf = ctx.pckChain[0];
    if (!qeReportSignatures.verify(pckLeaf.spki, pckLeaf.publicKey, qeCert.qeReportRaw, qeCert.qeReportSignature)) {
      throw new VerificationError('INVALID_QE_REPORT_SIGNATURE', 'the QE report signature does not verify with the PCK certificate key');
    }
    const binding = createHash('sha256').update(quote.attestPubKey).update(qeCert.qeAuthData).digest();
    if (qeCert.qeReport.reportData.length < 32 || binding.compare(qeCert.qeReport.reportData, 0, 32) !== 0) {
      throw new VerificationError('INVALID_QE_REPORT_DATA', 'QE report data is not SHA-256(attestation key ‖ QE authentication data)');
    }
    const wantQe = tdx ? 'TD_QE' : 'QE';
    if (ctx.qeIdentity.id !== wantQe) {
      throw new VerificationError('QE_IDENTITY_MISMATCH', `QE identity is for ${ctx.qeIdentity.id}, a ${r.teeType} quote needs ${wantQe}`);
    }
    const qer = qeCert.qeReport;
    const qeMatch = matchQeIdentity(ctx.qeIdentity, {
      miscSelect: qer.miscSelect,
      attributes: view(qeCert.qeReportRaw, 48, 16),
      mrSigner: qer.mrSigner,
      isvProdId: qer.isvProdId,
      isvSvn: qer.isvSvn,
    });
    if (qeMatch.status !== 'NotSupported') r.qeStatus = qeMatch.status;
    const akOrPromise = attestationKey(quote.attestPubKey, attestationKeys, max);
    const ak = akOrPromise instanceof Promise ? await akOrPromise : akOrPromise;
    if (!verifyP1363(view(quote.raw, 0, quote.signedLength), ak, quote.signature)) {
      throw new VerificationError('INVALID_QUOTE_SIGNATURE', 'the quote signature does not verify with the attestation key');
    }

    // G: TCB status
    const outcome = platformStatus(
      info,
      { compSvns: pck.tcb.compSvns, pceSvn: pck.tcb.pceSvn },
      qeMatch,
      tdInput && info.id === 'TDX' ? { ...tdInput, moduleIdentity, quoteVersion: quote.version } : undefined,
    );
    r.platformStatus = outcome.platformStatus;
    if (outcome.tdxModuleStatus) r.tdxModuleStatus = outcome.tdxModuleStatus;
    r.advisoryIds = outcome.advisoryIds;
    const tcbDate = earliestDate(outcome.tcbDates);
    if (tcbDate) r.tcbDate = tcbDate;
    r.status = outcome.status as VerificationStatus;
    if (outcome.status === 'Revoked') throw new VerificationError('TCB_REVOKED', 'the TCB level of the platform, QE or TDX module is Revoked');
    r.ok = true;
    const enclave = enclaveIdentityOf(quote.body);
    if (enclave) r.enclave = enclave;
    const td = tdIdentityOf(quote.body);
    if (td) r.td = td;
  }

  return {
    verify,
    get cacheSize() {
      return contexts.size;
    },
  };
}

export interface VerifyQuoteOptions extends VerifierOptions {}

/** One-shot verification (a fresh verifier: use `createVerifier` to keep the caches warm). */
export async function verifyQuote(quote: Buffer | Uint8Array | Quote, opts: VerifyQuoteOptions = {}): Promise<VerificationResult> {
  return createVerifier(opts).verify(quote);
}

