import { createHash, randomBytes } from 'node:crypto';
import type { Collateral } from '../pcs/types.js';
import { AttributeFlags, TdAttributeFlags, type Quote, type ReportBody, type TdReportBody10 } from '../sgx/index.js';
import type { VerificationResult } from '../verify/index.js';
import { base64url } from './base64.js';

/** Data bound to the quote: the decoded bytes, and the parsed value when the client said `dataType: JSON`. */
export interface BoundData {
  bytes: Buffer;
  json?: unknown;
}

export interface ClaimInput {
  issuer: string;
  quoteBytes: Buffer;
  quote: Quote;
  result: VerificationResult;
  collateral?: Collateral;
  runtime?: BoundData;
  initTime?: BoundData;
  nonce?: string;
  policyHash: string;
  now: Date;
  lifetimeSeconds: number;
}

const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hex = (b: Buffer) => b.toString('hex');

/**
 * `x-ms-sgx-collateral`: SHA-256 (hex) of what was verified. `quotehash` covers the submitted quote bytes,
 * as MAA's does; which bytes MAA hashes for the other six is not published, so ours are documented:
 * the exact signed TCB info / QE identity JSON texts, their issuer chain PEM texts, and the DER root CA CRL
 * for the two CRL hashes (in MAA's tokens the two CRL hashes are equal too).
 */
export function collateralHashes(quoteBytes: Buffer, c?: Collateral): Record<string, string> {
  const out: Record<string, string> = {};
  if (c) {
    out.qeidcertshash = sha256Hex(c.qeIdentityIssuerChain);
    out.qeidcrlhash = sha256Hex(c.rootCaCrl);
    out.qeidhash = sha256Hex(c.qeIdentityBody);
  }
  out.quotehash = sha256Hex(quoteBytes);
  if (c) {
    out.tcbinfocertshash = sha256Hex(c.tcbInfoIssuerChain);
    out.tcbinfocrlhash = sha256Hex(c.rootCaCrl);
    out.tcbinfohash = sha256Hex(c.tcbInfoBody);
  }
  return out;
}

function commonClaims(i: ClaimInput): Record<string, unknown> {
  const iat = Math.floor(i.now.getTime() / 1000);
  return {
    exp: iat + i.lifetimeSeconds,
    iat,
    iss: i.issuer,
    jti: randomBytes(32).toString('hex'),
    nbf: iat,
    ...(i.nonce !== undefined ? { nonce: i.nonce } : {}),
  };
}

/**
 * Our own claims, next to MAA's: whether the quote chained to a non-Intel (simulated) root, and what the
 * verifier concluded. A relying party that only knows MAA ignores them; ours refuses SIMULATED tokens
 * unless told otherwise.
 */
function sqhClaims(r: VerificationResult): Record<string, unknown> {
  return {
    'x-sqh-simulated': r.simulated,
    ...(r.simulated ? { 'x-sqh-platform': 'SIMULATED' } : {}),
    'x-sqh-tcb-status': r.status,
    'x-sqh-advisory-ids': r.advisoryIds,
    ...(r.tcbDate ? { 'x-sqh-tcb-date': r.tcbDate } : {}),
    ...(r.rootFingerprint ? { 'x-sqh-root-sha256': r.rootFingerprint } : {}),
  };
}

function runtimeClaims(i: ClaimInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (i.runtime?.json !== undefined) out['x-ms-runtime'] = i.runtime.json;
  if (i.initTime?.json !== undefined) out['x-ms-inittime'] = i.initTime.json;
  return out;
}

const isZero = (b: Buffer) => b.every((x) => x === 0);

/** The MAA SGX claim set (names, JSON types and encodings of real MAA tokens), plus the legacy duplicates. */
export function sgxClaims(i: ClaimInput): Record<string, unknown> {
  if (i.quote.body.type !== 'sgx') throw new Error('sgxClaims needs an SGX quote');
  const b: ReportBody = i.quote.body.report;
  const debug = (b.attributes.flags & AttributeFlags.DEBUG) !== 0n;
  const collateral = collateralHashes(i.quoteBytes, i.collateral);
  const ehd = i.runtime ? base64url(i.runtime.bytes) : undefined;
  const kss: Record<string, unknown> = {};
  // Key separation and sharing fields appear in MAA tokens only when the enclave uses them (non-zero).
  if (!isZero(b.configId)) kss['x-ms-sgx-config-id'] = hex(b.configId);
  if (b.configSvn !== 0) kss['x-ms-sgx-config-svn'] = b.configSvn;
  if (!isZero(b.isvExtProdId)) kss['x-ms-sgx-isv-extended-product-id'] = hex(b.isvExtProdId);
  if (!isZero(b.isvFamilyId)) kss['x-ms-sgx-isv-family-id'] = hex(b.isvFamilyId);
  return {
    ...(ehd ? { 'aas-ehd': ehd } : {}),
    ...commonClaims(i),
    'is-debuggable': debug,
    'maa-attestationcollateral': collateral,
    ...(ehd ? { 'maa-ehd': ehd } : {}),
    'product-id': b.isvProdId,
    'sgx-mrenclave': hex(b.mrEnclave),
    'sgx-mrsigner': hex(b.mrSigner),
    svn: b.isvSvn,
    tee: 'sgx',
    'x-ms-attestation-type': 'sgx',
    'x-ms-policy-hash': i.policyHash,
    'x-ms-sgx-collateral': collateral,
    ...(ehd ? { 'x-ms-sgx-ehd': ehd } : {}),
    'x-ms-sgx-is-debuggable': debug,
    'x-ms-sgx-mrenclave': hex(b.mrEnclave),
    'x-ms-sgx-mrsigner': hex(b.mrSigner),
    'x-ms-sgx-product-id': b.isvProdId,
    'x-ms-sgx-report-data': hex(b.reportData),
    'x-ms-sgx-svn': b.isvSvn,
    ...kss,
    ...runtimeClaims(i),
    'x-ms-ver': '1.0',
    ...sqhClaims(i.result),
  };
}

/** MAA's TDX claims (EAT profile for TDX VMs): quote-body fields as lowercase hex, attribute bits as booleans. */
export function tdxClaims(i: ClaimInput): Record<string, unknown> {
  if (i.quote.body.type === 'sgx') throw new Error('tdxClaims needs a TDX quote');
  const t: TdReportBody10 = i.quote.body.report;
  const u64 = (v: bigint) => {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(v);
    return hex(b);
  };
  const bit = (flag: bigint) => (t.tdAttributes & flag) !== 0n;
  const debug = bit(TdAttributeFlags.DEBUG);
  return {
    attester_tcb_status: i.result.status,
    ...(i.result.advisoryIds.length ? { attester_advisory_ids: i.result.advisoryIds } : {}),
    dbgstat: debug ? 'enabled' : 'disabled',
    eat_profile: 'https://aka.ms/maa-eat-profile-tdxvm',
    ...commonClaims(i),
    intuse: 'generic',
    tdx_mrconfigid: hex(t.mrConfigId),
    tdx_mrowner: hex(t.mrOwner),
    tdx_mrownerconfig: hex(t.mrOwnerConfig),
    tdx_mrseam: hex(t.mrSeam),
    tdx_mrsignerseam: hex(t.mrSignerSeam),
    tdx_mrtd: hex(t.mrTd),
    tdx_report_data: hex(t.reportData),
    tdx_rtmr0: hex(t.rtMr[0]),
    tdx_rtmr1: hex(t.rtMr[1]),
    tdx_rtmr2: hex(t.rtMr[2]),
    tdx_rtmr3: hex(t.rtMr[3]),
    tdx_seam_attributes: u64(t.seamAttributes),
    // TEE_TCB_SVN bytes 0 and 1 are the TDX module's minor and major SVN.
    tdx_seamsvn: t.teeTcbSvn[1] * 256 + t.teeTcbSvn[0],
    tdx_td_attributes: u64(t.tdAttributes),
    tdx_td_attributes_debug: debug,
    tdx_td_attributes_key_locker: bit(TdAttributeFlags.KL),
    tdx_td_attributes_perfmon: bit(TdAttributeFlags.PERFMON),
    tdx_td_attributes_protection_keys: bit(TdAttributeFlags.PKS),
    tdx_td_attributes_septve_disable: bit(TdAttributeFlags.SEPT_VE_DISABLE),
    tdx_tee_tcb_svn: hex(t.teeTcbSvn),
    tdx_xfam: u64(t.xfam),
    'x-ms-attestation-type': 'tdxvm',
    'x-ms-policy-hash': i.policyHash,
    ...runtimeClaims(i),
    'x-ms-ver': '1.0',
    ...sqhClaims(i.result),
  };
}

/** Claim names listed in `/.well-known/openid-configuration` (MAA's list plus ours). */
export const CLAIMS_SUPPORTED = [
  'cnf', 'nonce', 'x-ms-ver', 'x-ms-attestation-type', 'x-ms-policy-hash', 'x-ms-policy-signer', 'x-ms-sgx-is-debuggable',
  'x-ms-sgx-mrenclave', 'x-ms-sgx-mrsigner', 'x-ms-sgx-svn', 'x-ms-sgx-ehd', 'x-ms-sgx-collateral', 'is-debuggable',
  'sgx-mrsigner', 'sgx-mrenclave', 'product-id', 'svn', 'tee',
  'x-ms-sgx-product-id', 'x-ms-sgx-report-data', 'x-ms-runtime', 'x-ms-inittime', 'attester_tcb_status',
  'x-sqh-simulated', 'x-sqh-platform', 'x-sqh-tcb-status', 'x-sqh-advisory-ids',
];
