import type { VerificationResult } from './result.js';
import type { VerificationStatus } from './status.js';

/** What a relying party accepts. Every field is optional; unset fields use the defaults below. */
export interface Policy {
  /** Statuses accepted (default: DEFAULT_ACCEPTED_STATUSES). */
  acceptedStatuses?: VerificationStatus[];
  /** When set, every advisory ID of the result must be in this list. */
  acceptedAdvisoryIds?: string[];
  /** Expected enclave measurement(s) (hex, any case). SGX quotes only. */
  mrEnclave?: string | string[];
  /** Expected enclave signer(s) (hex). SGX quotes only. */
  mrSigner?: string | string[];
  /** Expected ISV product id. SGX quotes only. */
  isvProdId?: number;
  /** Minimum ISV SVN of the enclave. SGX quotes only. */
  minIsvSvn?: number;
  /** Expected TD measurement(s) (MRTD, hex). TDX quotes only. */
  mrTd?: string | string[];
  /** Accept DEBUG enclaves / debuggable TDs (default false: a debug enclave's secrets are readable by the host). */
  allowDebug?: boolean;
  /** Accept expired collateral (default false). Intel's QvE leaves this decision to the relying party. */
  allowExpiredCollateral?: boolean;
  /** Maximum age of the collateral in seconds: now − earliest issue date (TCB info, QE identity, CRLs). */
  maxCollateralAgeSeconds?: number;
  /**
   * Reject a quote followed by non-zero bytes (a second quote, random data). Zero padding is always
   * allowed (real TDX quotes carry it). Default false in the library; the CLI turns it on.
   */
  rejectNonZeroTrailingData?: boolean;
}

/**
 * Default accepted statuses: the platform is at the latest TCB level; hardening/configuration advisories
 * are reported in `advisoryIds` and can be narrowed with `acceptedAdvisoryIds`. OutOfDate*, relaunch
 * advice and every failure are rejected.
 */
export const DEFAULT_ACCEPTED_STATUSES: VerificationStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
];

export type PolicyViolationCode =
  | 'VERIFICATION_FAILED'
  | 'STATUS_NOT_ACCEPTED'
  | 'ADVISORY_NOT_ACCEPTED'
  | 'MRENCLAVE_MISMATCH'
  | 'MRSIGNER_MISMATCH'
  | 'ISV_PROD_ID_MISMATCH'
  | 'ISV_SVN_TOO_LOW'
  | 'MRTD_MISMATCH'
  | 'DEBUG_NOT_ALLOWED'
  | 'COLLATERAL_EXPIRED'
  | 'COLLATERAL_TOO_OLD'
  | 'TRAILING_DATA';

export interface PolicyViolation {
  code: PolicyViolationCode;
  message: string;
}

export interface PolicyVerdict {
  accepted: boolean;
  violations: PolicyViolation[];
}

const norm = (v: string | string[]) => (Array.isArray(v) ? v : [v]).map((s) => s.toLowerCase());

export function evaluatePolicy(r: VerificationResult, policy: Policy = {}, now: Date = new Date(r.verifiedAt)): PolicyVerdict {
  const v: PolicyViolation[] = [];
  const add = (code: PolicyViolationCode, message: string) => v.push({ code, message });
  if (!r.ok) {
    add('VERIFICATION_FAILED', `verification failed: ${r.reason ?? 'unknown'}`);
    return { accepted: false, violations: v };
  }
  const statuses = policy.acceptedStatuses ?? DEFAULT_ACCEPTED_STATUSES;
  if (!statuses.includes(r.status)) add('STATUS_NOT_ACCEPTED', `status ${r.status} is not in the accepted statuses (${statuses.join(', ')})`);
  if (policy.acceptedAdvisoryIds) {
    const ok = new Set(policy.acceptedAdvisoryIds.map((a) => a.toUpperCase()));
    const bad = r.advisoryIds.filter((a) => !ok.has(a.toUpperCase()));
    if (bad.length) add('ADVISORY_NOT_ACCEPTED', `advisory IDs not accepted: ${bad.join(', ')}`);
  }
  const e = r.enclave;
  if (policy.mrEnclave !== undefined && (!e || !norm(policy.mrEnclave).includes(e.mrEnclave))) {
    add('MRENCLAVE_MISMATCH', `MRENCLAVE ${e?.mrEnclave ?? '(not an SGX quote)'} is not an expected value`);
  }
  if (policy.mrSigner !== undefined && (!e || !norm(policy.mrSigner).includes(e.mrSigner))) {
    add('MRSIGNER_MISMATCH', `MRSIGNER ${e?.mrSigner ?? '(not an SGX quote)'} is not an expected value`);
  }
  if (policy.isvProdId !== undefined && e?.isvProdId !== policy.isvProdId) {
    add('ISV_PROD_ID_MISMATCH', `ISV prod id ${e?.isvProdId ?? '(none)'} is not ${policy.isvProdId}`);
  }
  if (policy.minIsvSvn !== undefined && (e?.isvSvn ?? -1) < policy.minIsvSvn) {
    add('ISV_SVN_TOO_LOW', `ISV SVN ${e?.isvSvn ?? '(none)'} is below the minimum ${policy.minIsvSvn}`);
  }
  if (policy.mrTd !== undefined && (!r.td || !norm(policy.mrTd).includes(r.td.mrTd))) {
    add('MRTD_MISMATCH', `MRTD ${r.td?.mrTd ?? '(not a TDX quote)'} is not an expected value`);
  }
  const debug = e?.debug ?? r.td?.debug ?? false;
  if (debug && !policy.allowDebug) add('DEBUG_NOT_ALLOWED', 'the enclave/TD is in DEBUG mode');
  if (r.collateralExpired && !policy.allowExpiredCollateral) {
    add('COLLATERAL_EXPIRED', `collateral expired: ${r.expiredCollateral.map((x) => `${x.item} (${x.reason})`).join(', ')}`);
  }
  if (policy.maxCollateralAgeSeconds !== undefined && r.collateralEarliestIssue) {
    const age = (now.getTime() - new Date(r.collateralEarliestIssue).getTime()) / 1000;
    if (age > policy.maxCollateralAgeSeconds) {
      add('COLLATERAL_TOO_OLD', `collateral issued ${r.collateralEarliestIssue} is ${Math.round(age)} s old (max ${policy.maxCollateralAgeSeconds} s)`);
    }
  }
  if (policy.rejectNonZeroTrailingData && r.trailingDataAllZero === false) {
    add('TRAILING_DATA', `${r.trailingDataLength} non-zero bytes follow the quote's signature data (another quote or appended data?)`);
  }
  return { accepted: v.length === 0, violations: v };
}
