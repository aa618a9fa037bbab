/**
 * Typed failures of the collateral layer. Callers branch on `code` (and `status` for HTTP answers);
 * the message is one line meant for an operator.
 */
export type PcsErrorCode =
  | 'HTTP_STATUS' // the service answered with a non-2xx status (see status, errorCode, retryAfterSeconds)
  | 'NETWORK' // no answer: connection refused, DNS, TLS, reset
  | 'TIMEOUT' // no answer within the client's timeout
  | 'BAD_RESPONSE' // a 2xx answer whose body or headers are not what the PCS API promises
  | 'MISSING_ISSUER_CHAIN' // a 2xx answer without the issuer-chain header
  | 'BAD_REQUEST' // the caller passed a malformed parameter (e.g. FMSPC not 12 hex digits)
  | 'NOT_CACHED' // offline cache lookup found nothing
  | 'BAD_BUNDLE' // a local collateral bundle file is unreadable or malformed
  | 'NOT_FOUND' // a local source holds no collateral for the asked FMSPC / CA / TEE
  | 'CACHE'; // the SQLite cache file cannot be opened, is corrupt, or has a newer schema

export class PcsError extends Error {
  readonly code: PcsErrorCode;
  /** HTTP status, when the service answered. */
  readonly status?: number;
  /** PCS `Error-Code` header (400 answers). */
  readonly errorCode?: string;
  /** PCS `Error-Message` header (400 answers). */
  readonly errorMessage?: string;
  /** Seconds from a 429/503 `Retry-After` header. */
  readonly retryAfterSeconds?: number;
  /** PCS `Request-ID` header, useful when talking to Intel support. */
  readonly requestId?: string;
  /** The URL that was requested, when there was one. */
  readonly url?: string;

  constructor(
    code: PcsErrorCode,
    message: string,
    details: {
      status?: number;
      errorCode?: string;
      errorMessage?: string;
      retryAfterSeconds?: number;
      requestId?: string;
      url?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'PcsError';
    this.code = code;
    this.status = details.status;
    this.errorCode = details.errorCode;
    this.errorMessage = details.errorMessage;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.requestId = details.requestId;
    this.url = details.url;
  }

  /**
   * True when the answer is authoritative about the item (it does not exist, or the request is wrong):
   * serving an old cached copy would hide a real problem, so the cache does not fall back to stale data.
   */
  get isDefinitive(): boolean {
    return this.code === 'HTTP_STATUS' && (this.status === 400 || this.status === 404 || this.status === 410);
  }
}
