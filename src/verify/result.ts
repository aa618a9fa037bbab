import type { PolicyViolation } from './policy.js';
import type { VerifyReason } from './reasons.js';
import type { TcbLevelStatus, VerificationStatus } from './status.js';

/** A collateral item whose validity window does not contain the verification time. */
export interface ExpiredItem {
  /** e.g. `pckCrl`, `rootCaCrl`, `tcbInfo`, `qeIdentity`, `pckCertChain[1]`, `tcbInfoIssuerChain[0]`. */
  item: string;
  reason: VerifyReason;
  /** The window the item is valid in (ISO text); `notBefore` only where Intel checks it (CRLs). */
  notBefore?: string;
  notAfter?: string;
}

export interface EnclaveIdentityResult {
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  /** 16 bytes as in the report: flags LE ‖ xfrm LE, hex. */
  attributes: string;
  miscSelect: number;
  debug: boolean;
  reportData: string;
  configSvn: number;
  cpuSvn: string;
}

export interface TdIdentityResult {
  teeTcbSvn: string;
  mrSeam: string;
  mrSignerSeam: string;
  seamAttributes: string;
  tdAttributes: string;
  xfam: string;
  mrTd: string;
  mrConfigId: string;
  mrOwner: string;
  mrOwnerConfig: string;
  rtMr: string[];
  reportData: string;
  /** TD_ATTRIBUTES.TUD (bit 0): the TD is debuggable. */
  debug: boolean;
  teeTcbSvn2?: string;
  mrServiceTd?: string;
}

export interface VerificationResult {
  /** True when every check passed and a TCB status other than Revoked/unsupported came out. */
  ok: boolean;
  status: VerificationStatus;
  /** `sgx_ql_qv_result_t` value and name. */
  qvResult: number;
  qvResultName: string;
  /** The failing check (only when `ok` is false). */
  reason?: VerifyReason;
  message?: string;
  advisoryIds: string[];
  /** Earliest TCB date of the levels that decided the status (QvE `tcb_level_date_tag`). */
  tcbDate?: string;
  /** Intel QvE semantics: expired collateral does not fail verification, it sets this flag. */
  collateralExpired: boolean;
  expiredCollateral: ExpiredItem[];
  /** The collateral source served collateral past its nextUpdate (stale-while-revalidate). */
  collateralStale?: boolean;
  /** Earliest issue date / expiration over the collateral (QvE supplemental data). */
  collateralEarliestIssue?: string;
  collateralEarliestExpiration?: string;
  /** The quote chained to a root other than Intel's production root (an explicitly passed trust root). */
  simulated: boolean;
  quoteVersion?: number;
  teeType?: 'SGX' | 'TDX';
  fmspc?: string;
  pceId?: string;
  caType?: 'processor' | 'platform';
  platformStatus?: TcbLevelStatus;
  qeStatus?: 'UpToDate' | 'OutOfDate' | 'Revoked';
  tdxModuleStatus?: 'UpToDate' | 'OutOfDate' | 'Revoked';
  tcbEvaluationDataNumber?: number;
  enclave?: EnclaveIdentityResult;
  td?: TdIdentityResult;
  /** Trust root the chains anchored at (SHA-256 of its DER). */
  rootFingerprint?: string;
  /**
   * Bytes after the end of the quote's signature data (set whenever the quote parsed). QVL ignores them;
   * real TDX quotes carry zero padding. `trailingDataAllZero` is true when there are none or all are 0.
   */
  trailingDataLength?: number;
  trailingDataAllZero?: boolean;
  /**
   * What the TCB info and QE identity signatures verified over: `exact` bytes as given, or their
   * `compact` form (whitespace outside strings removed: the body was re-spaced after Intel signed it).
   */
  collateralSignedForms?: { tcbInfo: 'exact' | 'compact'; qeIdentity: 'exact' | 'compact' };
  verifiedAt: string;
  /** The policy's verdict: `ok` and every policy rule satisfied. */
  accepted: boolean;
  policyViolations: PolicyViolation[];
}
