/** Why an AdmissionReview could not be processed at all (the API server sees an HTTP 400). */
export type AdmissionReviewErrorCode =
  | 'INVALID_JSON'
  | 'NOT_AN_OBJECT'
  | 'WRONG_API_VERSION'
  | 'WRONG_KIND'
  | 'MISSING_REQUEST'
  | 'MISSING_UID';

export class AdmissionReviewError extends Error {
  constructor(
    readonly code: AdmissionReviewErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AdmissionReviewError';
  }
}

/** A Kubernetes resource quantity string that does not follow the quantity grammar. */
export class QuantityError extends Error {
  readonly code = 'INVALID_QUANTITY' as const;
  constructor(readonly input: string) {
    super(`"${input}" is not a valid Kubernetes quantity (examples: 1, 512Ki, 10Mi, 1e3)`);
    this.name = 'QuantityError';
  }
}

/** The webhook's serving certificate or key could not be loaded. */
export type TlsLoadErrorCode = 'UNREADABLE' | 'INVALID_CERT' | 'INVALID_KEY' | 'KEY_MISMATCH';

export class TlsLoadError extends Error {
  constructor(
    readonly code: TlsLoadErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TlsLoadError';
  }
}

/** A --listen / --ops-listen value that is not HOST:PORT. */
export class ListenAddressError extends Error {
  readonly code = 'INVALID_LISTEN_ADDRESS' as const;
  constructor(readonly input: string) {
    super(`"${input}" is not HOST:PORT (examples: 0.0.0.0:9443, 127.0.0.1:9465, [::]:9443)`);
    this.name = 'ListenAddressError';
  }
}
