/**
 * Errors in MAA's shape: `{"error":{"code","message"}}` with a 4xx/5xx status (CloudError of api-version
 * 2020-10-01; 2025-06-01 adds the `x-ms-error-code` header, which we always send). MAA's own catalogue of
 * codes is not published; ours are named below and documented in docs/attestation.md.
 */
export type AttestErrorCode =
  | 'MissingApiVersionParameter'
  | 'UnsupportedApiVersion'
  | 'InvalidParameter'
  | 'UnsupportedMediaType'
  | 'RequestTooLarge'
  | 'InvalidQuote'
  | 'QuoteVerificationFailed'
  | 'PolicyEvaluationFailed'
  | 'RuntimeDataMismatch'
  | 'InitTimeDataMismatch'
  | 'CollateralUnavailable'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'ServiceUnavailable'
  | 'InternalError';

export class AttestError extends Error {
  constructor(
    readonly status: number,
    readonly code: AttestErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AttestError';
  }

  get body(): { error: { code: AttestErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}
