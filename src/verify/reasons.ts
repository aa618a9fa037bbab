/**
 * Why a verification failed, one value per check of spec §5 (Intel QVL order). Stable strings: callers,
 * the CLI's JSON output and the docs switch on them.
 */
export const VerifyReasons = [
  // A/B: input and quote format
  'QUOTE_FORMAT', // parse / header / nested-length / vendor-id check failed (QVL UNSUPPORTED_QUOTE_FORMAT)
  'CERTIFICATION_DATA_UNSUPPORTED', // no PCK chain: not cert type 5 and none in the collateral
  'COLLATERAL_MISSING', // neither collateral nor a collateral source was given
  'COLLATERAL_UNAVAILABLE', // the collateral source failed
  'COLLATERAL_FORMAT', // a collateral container field is malformed
  // C: PCK chain and CRLs
  'PCK_CHAIN_FORMAT', // not exactly 3 parseable certificates
  'PCK_CHAIN_INVALID', // names, required extensions, key usage/basic constraints, issuer or signature wrong
  'PCK_CHAIN_UNTRUSTED', // chain root is not a trusted root
  'PCK_CERT_EXPIRED', // a chain certificate is past notAfter (expiration: only flags collateralExpired)
  'CRL_FORMAT', // CRL does not parse
  'CRL_UNKNOWN_ISSUER', // CRL issuer DN is not the issuing CA's subject
  'CRL_INVALID_EXTENSIONS', // CRL Number or Authority Key Identifier missing
  'CRL_INVALID_SIGNATURE', // CRL signature does not verify with the issuing CA key
  'CRL_EXPIRED', // t outside [thisUpdate, nextUpdate] (expiration: only flags collateralExpired)
  'INTERMEDIATE_REVOKED', // PCK CA serial in the root CA CRL
  'PCK_REVOKED', // PCK leaf serial in the PCK CRL
  // D/E: TCB info and QE identity
  'TCB_SIGNING_CHAIN_FORMAT', // issuer chain not exactly 2 parseable certificates
  'TCB_SIGNING_CHAIN_INVALID', // names, extensions, issuer or signature wrong
  'TCB_SIGNING_CHAIN_UNTRUSTED', // signing chain root is not the trusted root that anchors the PCK chain
  'TCB_SIGNING_CERT_REVOKED', // TCB Signing cert serial in the root CA CRL
  'SIGNING_CHAIN_EXPIRED', // a signing chain certificate is past notAfter (only flags)
  'TCB_INFO_FORMAT', // TCB info JSON violates the v2/v3 rules
  'TCB_INFO_INVALID_SIGNATURE', // S4 does not verify over the exact tcbInfo bytes
  'TCB_INFO_EXPIRED', // t > nextUpdate (only flags)
  'QE_IDENTITY_FORMAT', // QE identity JSON violates the v2 rules
  'QE_IDENTITY_INVALID_SIGNATURE', // S5 does not verify
  'QE_IDENTITY_EXPIRED', // t > nextUpdate (only flags)
  // F: quote ↔ collateral binding
  'PCK_CERT_FORMAT', // SGX extension missing or malformed
  'TCB_INFO_MISMATCH', // TCB info id vs TEE type, FMSPC or PCE-ID differ from the PCK certificate
  'TDX_MODULE_MISMATCH', // MRSIGNERSEAM / SEAMATTRIBUTES differ from the TDX module (identity)
  'INVALID_QE_REPORT_SIGNATURE', // S2: PCK key does not verify the QE report
  'INVALID_QE_REPORT_DATA', // S3: QE report_data ≠ SHA-256(attestation key ‖ auth data)
  'QE_IDENTITY_MISMATCH', // QE identity id, MRSIGNER, ISV prod id, MISCSELECT or ATTRIBUTES mismatch
  'INVALID_QUOTE_SIGNATURE', // S1: attestation key does not verify the quote
  // G: TCB status
  'TCB_NOT_SUPPORTED', // platform TCB below every TCB level
  'QE_TCB_NOT_SUPPORTED', // QE ISV SVN below every QE identity level
  'TDX_MODULE_TCB_NOT_SUPPORTED', // TDX module ISV SVN below every module identity level
  'TCB_REVOKED', // the platform, QE or TDX module TCB level is Revoked
  'UNEXPECTED_ERROR', // an internal error while checking hostile input (reported, never thrown)
] as const;

export type VerifyReason = (typeof VerifyReasons)[number];

/** Expiration reasons only set `collateralExpired` (Intel QvE §5.A.7); the others abort. */
export const EXPIRATION_REASONS: ReadonlySet<VerifyReason> = new Set<VerifyReason>([
  'PCK_CERT_EXPIRED',
  'CRL_EXPIRED',
  'SIGNING_CHAIN_EXPIRED',
  'TCB_INFO_EXPIRED',
  'QE_IDENTITY_EXPIRED',
]);

/** A terminal verification failure, thrown inside the verifier and turned into a result. */
export class VerificationError extends Error {
  constructor(
    readonly reason: VerifyReason,
    message: string,
  ) {
    super(message);
    this.name = 'VerificationError';
  }
}
