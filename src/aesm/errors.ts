// aesm_error_t: the `errorCode` carried in every AESM response sub-message.
// Values and names from wire spec §4.3 (psw/ae/inc/internal/aesm_error.h). 27 is unassigned.

export const AesmCode = {
  SUCCESS: 0,
  UNEXPECTED_ERROR: 1,
  NO_DEVICE_ERROR: 2,
  PARAMETER_ERROR: 3,
  EPIDBLOB_ERROR: 4,
  EPID_REVOKED_ERROR: 5,
  GET_LICENSETOKEN_ERROR: 6,
  SESSION_INVALID: 7,
  MAX_NUM_SESSION_REACHED: 8,
  PSDA_UNAVAILABLE: 9,
  EPH_SESSION_FAILED: 10,
  LONG_TERM_PAIRING_FAILED: 11,
  NETWORK_ERROR: 12,
  NETWORK_BUSY_ERROR: 13,
  PROXY_SETTING_ASSIST: 14,
  FILE_ACCESS_ERROR: 15,
  SGX_PROVISION_FAILED: 16,
  SERVICE_STOPPED: 17,
  BUSY: 18,
  BACKEND_SERVER_BUSY: 19,
  UPDATE_AVAILABLE: 20,
  OUT_OF_MEMORY_ERROR: 21,
  MSG_ERROR: 22,
  THREAD_ERROR: 23,
  SGX_DEVICE_NOT_AVAILABLE: 24,
  ENABLE_SGX_DEVICE_FAILED: 25,
  PLATFORM_INFO_BLOB_INVALID_SIG: 26,
  KDF_MISMATCH: 28,
  OUT_OF_EPC: 29,
  SERVICE_UNAVAILABLE: 30,
  UNRECOGNIZED_PLATFORM: 31,
  ECDSA_ID_MISMATCH: 32,
  PATHNAME_BUFFER_OVERFLOW_ERROR: 33,
  ERROR_STORED_KEY: 34,
  PUB_KEY_ID_MISMATCH: 35,
  INVALID_PCE_SIG_SCHEME: 36,
  ATT_KEY_BLOB_ERROR: 37,
  UNSUPPORTED_ATT_KEY_ID: 38,
  UNSUPPORTED_LOADING_POLICY: 39,
  INTERFACE_UNAVAILABLE: 40,
  PLATFORM_LIB_UNAVAILABLE: 41,
  ATT_KEY_NOT_INITIALIZED: 42,
  ATT_KEY_CERT_DATA_INVALID: 43,
  NO_PLATFORM_CERT_DATA: 44,
  ERROR_REPORT: 45,
  ENCLAVE_LOST: 46,
  INVALID_REPORT: 47,
  ENCLAVE_LOAD_ERROR: 48,
  UNABLE_TO_GENERATE_QE_REPORT: 49,
  KEY_CERTIFICATION_ERROR: 50,
  CONFIG_UNSUPPORTED: 51,
} as const;

export type AesmCodeName = keyof typeof AesmCode;

export interface AesmErrorInfo {
  readonly code: number;
  /** Intel's enumerator, e.g. `AESM_UNSUPPORTED_ATT_KEY_ID`. */
  readonly name: string;
}

/** Every assigned aesm_error_t value (0..51 without the unassigned 27), ascending. */
export const AESM_ERRORS: ReadonlyArray<AesmErrorInfo> = Object.freeze(
  Object.entries(AesmCode)
    .map(([key, code]) => Object.freeze({ code, name: `AESM_${key}` }))
    .sort((a, b) => a.code - b.code),
);

const NAME_BY_CODE = new Map<number, string>(AESM_ERRORS.map((e) => [e.code, e.name]));

/** Intel's name for an errorCode; `AESM_UNKNOWN_ERROR_<n>` for unassigned or out-of-range values. */
export function aesmErrorName(code: number): string {
  return NAME_BY_CODE.get(code) ?? `AESM_UNKNOWN_ERROR_${code}`;
}

export function isKnownAesmCode(code: number): boolean {
  return NAME_BY_CODE.has(code);
}

/**
 * An operation failed with a non-zero aesm_error_t. Providers throw it so the daemon can put `code`
 * into the response; clients throw it when a response carries a non-zero errorCode.
 */
export class AesmError extends Error {
  override readonly name = 'AesmError';
  readonly code: number;
  readonly aesmName: string;

  constructor(code: number, message?: string, options?: { cause?: unknown }) {
    // A zero/invalid code would go on the wire as "success" or fail to encode, so it becomes 1.
    const safe = Number.isInteger(code) && code > 0 && code <= 0xffffffff ? code : AesmCode.UNEXPECTED_ERROR;
    const aesmName = aesmErrorName(safe);
    super(message ? `${aesmName} (${safe}): ${message}` : `${aesmName} (${safe})`, options);
    this.code = safe;
    this.aesmName = aesmName;
  }
}
