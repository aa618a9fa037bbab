/** Why a byte structure was rejected. Stable strings: callers (CLI, verifier, daemon) switch on them. */
export type SgxParseErrorCode =
  | 'TRUNCATED'
  | 'OVERSIZE'
  | 'INCONSISTENT_LENGTH'
  | 'UNSUPPORTED_VERSION'
  | 'UNSUPPORTED_KEY_TYPE'
  | 'UNSUPPORTED_TEE_TYPE'
  | 'UNSUPPORTED_CERT_TYPE'
  | 'UNSUPPORTED_BODY_TYPE'
  | 'INVALID_VALUE'
  | 'INVALID_ENCODING';

/**
 * The only error the parsers and encoders of `src/sgx` throw for bad input.
 * `field` is a dotted path (e.g. `quote.signatureData.certificationData.size`) and `offset` the byte
 * offset in the buffer handed to the top-level function, so a user can find the bad byte with a hex dump.
 */
export class SgxParseError extends Error {
  constructor(
    readonly code: SgxParseErrorCode,
    readonly field: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${field} at offset ${offset}: ${detail} (${code})`);
    this.name = 'SgxParseError';
  }
}
