import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { Collateral, CollateralSource } from '../pcs/types.js';
import { SgxParseError, parseQuote, type Quote } from '../sgx/index.js';
import { createVerifier, type QuoteVerifier, type VerificationResult } from '../verify/index.js';
import { decodeBinary } from './base64.js';
import { sgxClaims, tdxClaims, type BoundData } from './claims.js';
import { AttestError } from './errors.js';
import { signJwsAsync } from './jws.js';
import type { KeyRing } from './keys.js';
import { policyHash, type AttestPolicy } from './policy.js';

export type AttestationType = 'SgxEnclave' | 'OpenEnclave' | 'TdxVm';
export const ATTESTATION_TYPES: readonly AttestationType[] = ['SgxEnclave', 'OpenEnclave', 'TdxVm'];

export interface AttesterOptions {
  /** the public base URL: token `iss`, `jku` prefix */
  issuer: string;
  keys: KeyRing;
  policy: AttestPolicy;
  /** one fixed collateral set, or a source asked per quote (PCS/PCCS/THIM/our server, SQLite cache) */
  collateral?: Collateral;
  source?: CollateralSource;
  /** trusted roots (PEM/DER); default Intel's production root only */
  trustedRoots?: (string | Buffer)[];
  /** token lifetime (MAA: 8 h) */
  tokenLifetimeSeconds?: number;
  now?: () => Date;
  /**
   * Evaluate certificates, CRLs and collateral as of this time instead of now (tests and forensics with
   * published collateral that has since expired). Tokens are still issued at the real time.
   */
  verifyAt?: Date;
}

export interface Attestation {
  token: string;
  result: VerificationResult;
  claims: Record<string, unknown>;
}

/** Bounds on what a request may carry besides the quote (which the quote parser bounds itself). */
export const MAX_NONCE_LENGTH = 1024;
export const MAX_BOUND_DATA_BYTES = 64 * 1024;

/** Open Enclave `oe_report_header_t` (version 1, type 2 = SGX remote, u64 size) in front of the quote. */
const OE_HEADER_SIZE = 16;
function stripOpenEnclaveHeader(b: Buffer): Buffer {
  if (b.length > OE_HEADER_SIZE && b.readUInt32LE(0) === 1 && b.readUInt32LE(4) === 2 && b.readBigUInt64LE(8) === BigInt(b.length - OE_HEADER_SIZE)) {
    return b.subarray(OE_HEADER_SIZE);
  }
  return b; // a bare SGX quote, as EGo's `report` also may be
}

function field(body: Record<string, unknown>, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(body, name) ? body[name] : undefined;
}

function binary(v: unknown, name: string, max: number): Buffer {
  if (typeof v !== 'string' || v.length === 0) throw new AttestError(400, 'InvalidParameter', `${name} must be a non-empty base64url or base64 string`);
  if (v.length > Math.ceil((max * 4) / 3) + 4) throw new AttestError(400, 'InvalidParameter', `${name} is larger than ${max} bytes`);
  const b = decodeBinary(v);
  if (!b) throw new AttestError(400, 'InvalidParameter', `${name} is neither base64url nor base64`);
  return b;
}

function boundData(v: unknown, name: string): BoundData | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new AttestError(400, 'InvalidParameter', `${name} must be an object {data, dataType}`);
  const o = v as Record<string, unknown>;
  const bytes = binary(field(o, 'data'), `${name}.data`, MAX_BOUND_DATA_BYTES);
  const type = field(o, 'dataType') ?? 'Binary';
  if (type !== 'Binary' && type !== 'JSON') throw new AttestError(400, 'InvalidParameter', `${name}.dataType must be "Binary" or "JSON"`);
  if (type === 'Binary') return { bytes };
  try {
    return { bytes, json: JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) };
  } catch {
    throw new AttestError(400, 'InvalidParameter', `${name}.data has dataType JSON but is not UTF-8 JSON`);
  }
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();

/**
 * MAA's binding rule: SHA-256 of the runtime data equals the first 32 bytes of the report data, and of the
 * init-time data the first 32 bytes of CONFIGID (SGX) — for TDX we bind it to MRCONFIGID the same way.
 */
function checkBinding(quote: Quote, runtime?: BoundData, initTime?: BoundData): void {
  const report = quote.body.report;
  if (runtime && !sha256(runtime.bytes).equals(report.reportData.subarray(0, 32))) {
    throw new AttestError(400, 'RuntimeDataMismatch',
      'SHA-256 of runtimeData.data does not equal the first 32 bytes of the quote\'s report data; the enclave must put that hash into its report');
  }
  if (initTime) {
    const config = quote.body.type === 'sgx' ? quote.body.report.configId : quote.body.report.mrConfigId;
    if (!sha256(initTime.bytes).equals(config.subarray(0, 32))) {
      throw new AttestError(400, 'InitTimeDataMismatch',
        `SHA-256 of initTimeData.data does not equal the first 32 bytes of the quote's ${quote.body.type === 'sgx' ? 'CONFIGID' : 'MRCONFIGID'}`);
    }
  }
}

/** Quote in, signed token out: validation, binding, verification, policy, claims, signature. */
export class Attester {
  private readonly verifier: QuoteVerifier;
  private readonly seen = new AsyncLocalStorage<{ collateral?: Collateral }>();
  private readonly now: () => Date;
  readonly lifetimeSeconds: number;
  readonly policyHash: string;
  /** true when the last collateral request failed (readiness) */
  collateralFailing = false;
  private failedQuery: Parameters<CollateralSource['get']>[0] | undefined;
  private probing: Promise<boolean> | undefined;
  private lastProbe = 0;

  constructor(private readonly opts: AttesterOptions) {
    this.now = opts.now ?? (() => new Date());
    this.lifetimeSeconds = opts.tokenLifetimeSeconds ?? 8 * 3600;
    this.policyHash = policyHash(opts.policy.text);
    // The source is wrapped so the collateral a verification used is known (for x-ms-sgx-collateral)
    // without a second fetch; AsyncLocalStorage keeps concurrent requests apart.
    const source: CollateralSource | undefined = opts.source && {
      get: async (q) => {
        try {
          const c = await opts.source!.get(q);
          this.collateralFailing = false;
          const slot = this.seen.getStore();
          if (slot) slot.collateral = c;
          return c;
        } catch (e) {
          this.collateralFailing = true;
          this.failedQuery = q;
          throw e;
        }
      },
    };
    this.verifier = createVerifier({
      ...(opts.collateral ? { collateral: opts.collateral } : {}),
      ...(source ? { source } : {}),
      ...(opts.trustedRoots ? { trustedRoots: opts.trustedRoots } : {}),
      now: opts.verifyAt ?? this.now,
      policy: opts.policy.policy,
    });
  }

  /**
   * Readiness: while the collateral source is failing, retry the query that failed (at most every 5 s,
   * one at a time), so an instance taken out of a load balancer comes back by itself once the source
   * answers again — it would get no attestation traffic to find out otherwise.
   */
  async collateralReady(): Promise<boolean> {
    if (!this.collateralFailing || !this.failedQuery || !this.opts.source) return !this.collateralFailing;
    if (this.probing) return this.probing;
    if (Date.now() - this.lastProbe < 5000) return false;
    this.lastProbe = Date.now();
    const q = this.failedQuery;
    this.probing = this.opts.source.get(q).then(
      () => {
        this.collateralFailing = false;
        return true;
      },
      () => false,
    ).finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  async attest(type: AttestationType, body: unknown): Promise<Attestation> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AttestError(400, 'InvalidParameter', 'the request body must be a JSON object');
    const b = body as Record<string, unknown>;
    if (field(b, 'draftPolicyForAttestation') !== undefined) {
      // A token under a caller-chosen policy must not be signed (MAA: "cannot be validated"); we never sign `alg: none`.
      throw new AttestError(400, 'InvalidParameter', 'draftPolicyForAttestation is not supported by this service; configure the policy with --policy');
    }
    const evidenceField = type === 'OpenEnclave' ? 'report' : 'quote';
    let evidence = binary(field(b, evidenceField), evidenceField, 1024 * 1024);
    if (type === 'OpenEnclave') evidence = stripOpenEnclaveHeader(evidence);
    const runtime = boundData(field(b, 'runtimeData'), 'runtimeData');
    const initTime = boundData(field(b, 'initTimeData'), 'initTimeData');
    const nonce = field(b, 'nonce');
    if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length > MAX_NONCE_LENGTH)) {
      throw new AttestError(400, 'InvalidParameter', `nonce must be a string of at most ${MAX_NONCE_LENGTH} characters`);
    }

    let quote: Quote;
    try {
      quote = parseQuote(evidence);
    } catch (e) {
      if (e instanceof SgxParseError) throw new AttestError(400, 'InvalidQuote', `the ${evidenceField} is not a valid SGX/TDX ECDSA quote: ${e.message}`);
      throw e;
    }
    const wantSgx = type !== 'TdxVm';
    if (wantSgx !== (quote.body.type === 'sgx')) {
      throw new AttestError(400, 'InvalidQuote', `/attest/${type} needs ${wantSgx ? 'an SGX' : 'a TDX'} quote; this is ${quote.body.type === 'sgx' ? 'an SGX' : 'a TDX'} quote (use /attest/${wantSgx ? 'TdxVm' : 'SgxEnclave'})`);
    }
    checkBinding(quote, runtime, initTime);

    const slot: { collateral?: Collateral } = {};
    const now = this.now();
    const result = await this.seen.run(slot, () => this.verifier.verify(quote, { now: this.opts.verifyAt ?? now }));
    if (!result.ok) {
      if (result.reason === 'COLLATERAL_UNAVAILABLE' || result.reason === 'COLLATERAL_MISSING') {
        throw new AttestError(503, 'CollateralUnavailable', `collateral for this platform could not be obtained: ${result.message ?? result.reason}`);
      }
      throw new AttestError(400, 'QuoteVerificationFailed', `quote verification failed: ${result.reason}: ${result.message ?? ''} (status ${result.status})`.trim());
    }
    if (!result.accepted) {
      throw new AttestError(400, 'PolicyEvaluationFailed', `the attestation policy rejected the quote: ${result.policyViolations.map((v) => `${v.code}: ${v.message}`).join('; ')}`);
    }
    const key = this.opts.keys.active;
    if (!key?.privateKey) throw new AttestError(503, 'ServiceUnavailable', 'no signing key is loaded');
    const input = {
      issuer: this.opts.issuer, quoteBytes: evidence, quote, result,
      collateral: slot.collateral ?? this.opts.collateral,
      runtime, initTime, policyHash: this.policyHash, now, lifetimeSeconds: this.lifetimeSeconds,
      ...(nonce !== undefined ? { nonce: nonce as string } : {}),
    };
    const claims = quote.body.type === 'sgx' ? sgxClaims(input) : tdxClaims(input);
    const token = await signJwsAsync({ alg: key.alg, jku: `${this.opts.issuer}/certs`, kid: key.kid, typ: 'JWT' }, claims, key.privateKey);
    return { token, result, claims };
  }
}
