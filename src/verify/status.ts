import { TCB_STATUSES, type TcbStatus } from '../providers/tcb-status.js';
import type { VerifyReason } from './reasons.js';

/** The TCB statuses Intel's TCB info and QE identity use (QVL `VALID_TCB_INFO_STATUSES`); the one list in providers/tcb-status.ts. */
export const TCB_LEVEL_STATUSES = TCB_STATUSES;
export type TcbLevelStatus = TcbStatus;

/**
 * A verification's overall status: a converged TCB status, the two TDX relaunch statuses, or a
 * failure class (`TcbLevelNotSupported`, `InvalidSignature`, `Invalid`) with a `reason` alongside.
 */
export type VerificationStatus =
  | TcbLevelStatus
  | 'TDRelaunchAdvised'
  | 'TDRelaunchAdvisedConfigurationNeeded'
  | 'TcbLevelNotSupported'
  | 'InvalidSignature'
  | 'Invalid';

/** `sgx_ql_qv_result_t` (spec §5.H). */
export const QvResult = {
  OK: 0x0000,
  CONFIG_NEEDED: 0xa001,
  OUT_OF_DATE: 0xa002,
  OUT_OF_DATE_CONFIG_NEEDED: 0xa003,
  INVALID_SIGNATURE: 0xa004,
  REVOKED: 0xa005,
  UNSPECIFIED: 0xa006,
  SW_HARDENING_NEEDED: 0xa007,
  CONFIG_AND_SW_HARDENING_NEEDED: 0xa008,
  TD_RELAUNCH_ADVISED: 0xa009,
  TD_RELAUNCH_ADVISED_CONFIG_NEEDED: 0xa00a,
} as const;

const QV_NAMES: Record<number, string> = {
  0x0000: 'SGX_QL_QV_RESULT_OK',
  0xa001: 'SGX_QL_QV_RESULT_CONFIG_NEEDED',
  0xa002: 'SGX_QL_QV_RESULT_OUT_OF_DATE',
  0xa003: 'SGX_QL_QV_RESULT_OUT_OF_DATE_CONFIG_NEEDED',
  0xa004: 'SGX_QL_QV_RESULT_INVALID_SIGNATURE',
  0xa005: 'SGX_QL_QV_RESULT_REVOKED',
  0xa006: 'SGX_QL_QV_RESULT_UNSPECIFIED',
  0xa007: 'SGX_QL_QV_RESULT_SW_HARDENING_NEEDED',
  0xa008: 'SGX_QL_QV_RESULT_CONFIG_AND_SW_HARDENING_NEEDED',
  0xa009: 'TEE_QV_RESULT_TD_RELAUNCH_ADVISED',
  0xa00a: 'TEE_QV_RESULT_TD_RELAUNCH_ADVISED_CONFIG_NEEDED',
};

export function qvResultName(code: number): string {
  return QV_NAMES[code] ?? `SGX_QL_QV_RESULT_0x${code.toString(16)}`;
}

const STATUS_TO_QV: Record<VerificationStatus, number> = {
  UpToDate: QvResult.OK,
  SWHardeningNeeded: QvResult.SW_HARDENING_NEEDED,
  ConfigurationNeeded: QvResult.CONFIG_NEEDED,
  ConfigurationAndSWHardeningNeeded: QvResult.CONFIG_AND_SW_HARDENING_NEEDED,
  OutOfDate: QvResult.OUT_OF_DATE,
  OutOfDateConfigurationNeeded: QvResult.OUT_OF_DATE_CONFIG_NEEDED,
  Revoked: QvResult.REVOKED,
  TDRelaunchAdvised: QvResult.TD_RELAUNCH_ADVISED,
  TDRelaunchAdvisedConfigurationNeeded: QvResult.TD_RELAUNCH_ADVISED_CONFIG_NEEDED,
  TcbLevelNotSupported: QvResult.UNSPECIFIED,
  InvalidSignature: QvResult.INVALID_SIGNATURE,
  Invalid: QvResult.UNSPECIFIED,
};

export function qvResultFor(status: VerificationStatus): number {
  return STATUS_TO_QV[status];
}

const SIGNATURE_REASONS: ReadonlySet<VerifyReason> = new Set<VerifyReason>([
  'INVALID_QUOTE_SIGNATURE',
  'INVALID_QE_REPORT_SIGNATURE',
  'CRL_INVALID_SIGNATURE',
  'TCB_INFO_INVALID_SIGNATURE',
  'QE_IDENTITY_INVALID_SIGNATURE',
]);
const REVOKED_REASONS: ReadonlySet<VerifyReason> = new Set<VerifyReason>([
  'PCK_REVOKED',
  'INTERMEDIATE_REVOKED',
  'TCB_SIGNING_CERT_REVOKED',
  'TCB_REVOKED',
]);

/** The status a terminal failure is reported with (the `status_error_to_ql_qve_result` mapping of the QvE). */
export function statusForFailure(reason: VerifyReason): VerificationStatus {
  if (SIGNATURE_REASONS.has(reason)) return 'InvalidSignature';
  if (REVOKED_REASONS.has(reason)) return 'Revoked';
  if (reason === 'TCB_NOT_SUPPORTED' || reason === 'QE_TCB_NOT_SUPPORTED' || reason === 'TDX_MODULE_TCB_NOT_SUPPORTED') {
    return 'TcbLevelNotSupported';
  }
  return 'Invalid';
}

/** QE identity level outcome, as QVL's `SGX_ENCLAVE_REPORT_ISVSVN_*` statuses. */
export type QeTcbOutcome = 'UpToDate' | 'OutOfDate' | 'Revoked';

/**
 * Intel's `convergeTcbStatusWithQeTcbStatus` (spec §5.G step 4) — not "worst wins": a QE OutOfDate turns
 * ConfigurationNeeded into OutOfDateConfigurationNeeded, and any QE Revoked wins.
 */
export function convergeWithQe(platform: TcbLevelStatus, qe: QeTcbOutcome | undefined): TcbLevelStatus {
  if (qe === undefined || qe === 'UpToDate') return platform;
  if (qe === 'Revoked') return 'Revoked';
  switch (platform) {
    case 'UpToDate':
    case 'SWHardeningNeeded':
      return 'OutOfDate';
    case 'ConfigurationNeeded':
    case 'ConfigurationAndSWHardeningNeeded':
      return 'OutOfDateConfigurationNeeded';
    default:
      return platform;
  }
}

/** TDX module identity convergence (spec §5.G step 3, QVL TdxModuleCheck). */
export function convergeWithTdxModule(platform: TcbLevelStatus, module: QeTcbOutcome | undefined): TcbLevelStatus {
  // Same shape as the QE convergence in QVL: OutOfDate downgrades, Revoked wins.
  return convergeWithQe(platform, module);
}
