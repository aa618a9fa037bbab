export { createVerifier, verifyQuote, VerifierConfigError } from './verifier.js';
export type { QuoteVerifier, VerifierOptions, VerifyCallOptions, VerifyQuoteOptions } from './verifier.js';
export type { VerificationResult, ExpiredItem, EnclaveIdentityResult, TdIdentityResult } from './result.js';
export { VerifyReasons, VerificationError, EXPIRATION_REASONS } from './reasons.js';
export type { VerifyReason } from './reasons.js';
export {
  QvResult,
  qvResultName,
  qvResultFor,
  convergeWithQe,
  TCB_LEVEL_STATUSES,
} from './status.js';
export type { TcbLevelStatus, VerificationStatus } from './status.js';
export { evaluatePolicy, DEFAULT_ACCEPTED_STATUSES } from './policy.js';
export type { Policy, PolicyVerdict, PolicyViolation, PolicyViolationCode } from './policy.js';
export { INTEL_SGX_ROOT_CA_PEM, INTEL_SGX_ROOT_CA_SHA256 } from './intel-root.js';
export { parseTcbInfo } from './tcb-info.js';
export type { TcbInfo, TcbLevel } from './tcb-info.js';
export { parseEnclaveIdentity } from './qe-identity.js';
export type { EnclaveIdentity } from './qe-identity.js';
