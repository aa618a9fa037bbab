// What a client makes of an AESM answer: aesm_error_t → sgx_status_t (Intel's libsgx_quote_ex,
// wire spec §4.4 steps 1–3) → quote3_error_t (the DCAP wrapper, step 4). Kept as data so tests,
// logs and the TypeScript client all use the same table.
import { AesmCode, aesmErrorName } from './errors.js';

/** sgx_status_t values that the quote_ex path can produce (names from sgx_error.h). */
export const SgxStatus = {
  SGX_SUCCESS: 0x0000,
  SGX_ERROR_UNEXPECTED: 0x0001,
  SGX_ERROR_INVALID_PARAMETER: 0x0002,
  SGX_ERROR_OUT_OF_MEMORY: 0x0003,
  SGX_ERROR_OUT_OF_EPC: 0x2005,
  SGX_ERROR_NO_DEVICE: 0x2006,
  SGX_ERROR_MAC_MISMATCH: 0x3001,
  SGX_ERROR_SERVICE_UNAVAILABLE: 0x4001,
  SGX_ERROR_SERVICE_TIMEOUT: 0x4002,
  SGX_ERROR_INVALID_EPID_BLOB: 0x4003,
  SGX_ERROR_EPID_MEMBER_REVOKED: 0x4005,
  SGX_ERROR_UPDATE_NEEDED: 0x4006,
  SGX_ERROR_NETWORK_FAILURE: 0x4007,
  SGX_ERROR_BUSY: 0x400a,
  SGX_ERROR_UNRECOGNIZED_PLATFORM: 0x4012,
  SGX_ERROR_UNSUPPORTED_ATT_KEY_ID: 0x8001,
  SGX_ERROR_ATT_KEY_CERTIFICATION_FAILURE: 0x8002,
  SGX_ERROR_ATT_KEY_UNINITIALIZED: 0x8003,
  SGX_ERROR_PLATFORM_CERT_UNAVAILABLE: 0x8005,
} as const;

/** quote3_error_t values reachable from the out-of-process DCAP wrapper (TEE_MK_ERROR(x) = 0xE000|x). */
export const Quote3Error = {
  SGX_QL_SUCCESS: 0x0000,
  SGX_QL_ERROR_UNEXPECTED: 0xe001,
  SGX_QL_ERROR_INVALID_PARAMETER: 0xe002,
  SGX_QL_ERROR_OUT_OF_MEMORY: 0xe003,
  SGX_QL_UNSUPPORTED_ATT_KEY_ID: 0xe00b,
  SGX_QL_ATT_KEY_NOT_INITIALIZED: 0xe00f,
  SGX_QL_ATT_KEY_CERT_DATA_INVALID: 0xe010,
  SGX_QL_NO_PLATFORM_CERT_DATA: 0xe011,
  SGX_QL_UNSUPPORTED_MODE: 0xe03e,
  SGX_QL_NO_DEVICE: 0xe03f,
  SGX_QL_SERVICE_UNAVAILABLE: 0xe040,
  SGX_QL_NETWORK_FAILURE: 0xe041,
  SGX_QL_SERVICE_TIMEOUT: 0xe042,
  SGX_QL_ERROR_BUSY: 0xe043,
} as const;

/** The quote_ex APIs of libsgx_quote_ex; each has its own step-3 table. */
export type AesmOperation =
  | 'selectAttKeyId'
  | 'initQuoteEx'
  | 'getQuoteSizeEx'
  | 'getQuoteEx'
  | 'getSupportedAttKeyIdNum'
  | 'getSupportedAttKeyIds';

export const AESM_OPERATIONS: readonly AesmOperation[] = [
  'selectAttKeyId',
  'initQuoteEx',
  'getQuoteSizeEx',
  'getQuoteEx',
  'getSupportedAttKeyIdNum',
  'getSupportedAttKeyIds',
];

/**
 * Step 1: failures before any errorCode exists (uae_oal_status_t → sgx_status_t).
 * - `connect-failed`: no socket, ECONNREFUSED, EACCES
 * - `timeout`: a read or write took longer than the client's timeout (15 s in Intel's release build)
 * - `bad-response`: short read, peer closed without answering, oversize or unparseable response
 * - `invalid-request`: the request could not be serialised (missing required field)
 * - `out-of-memory`: allocation failure in the client
 */
export type TransportFailure = 'connect-failed' | 'timeout' | 'bad-response' | 'invalid-request' | 'out-of-memory';

export const TRANSPORT_STATUS: Readonly<Record<TransportFailure, number>> = Object.freeze({
  'connect-failed': SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE,
  timeout: SgxStatus.SGX_ERROR_SERVICE_TIMEOUT,
  'bad-response': SgxStatus.SGX_ERROR_UNEXPECTED,
  'invalid-request': SgxStatus.SGX_ERROR_INVALID_PARAMETER,
  'out-of-memory': SgxStatus.SGX_ERROR_OUT_OF_MEMORY,
});

export function sgxStatusForTransport(failure: TransportFailure): number {
  return TRANSPORT_STATUS[failure];
}

/** Step 2 (oal_map_result), common to every API. Codes not listed fall to 0x0001 and on to step 3. */
export const COMMON_STATUS: ReadonlyMap<number, number> = new Map([
  [AesmCode.SUCCESS, SgxStatus.SGX_SUCCESS],
  [AesmCode.UNEXPECTED_ERROR, SgxStatus.SGX_ERROR_UNEXPECTED],
  [AesmCode.NO_DEVICE_ERROR, SgxStatus.SGX_ERROR_NO_DEVICE],
  [AesmCode.PARAMETER_ERROR, SgxStatus.SGX_ERROR_INVALID_PARAMETER],
  [AesmCode.NETWORK_ERROR, SgxStatus.SGX_ERROR_NETWORK_FAILURE],
  [AesmCode.NETWORK_BUSY_ERROR, SgxStatus.SGX_ERROR_NETWORK_FAILURE],
  [AesmCode.PROXY_SETTING_ASSIST, SgxStatus.SGX_ERROR_NETWORK_FAILURE],
  [AesmCode.SERVICE_STOPPED, SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE],
  [AesmCode.SERVICE_UNAVAILABLE, SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE],
  [AesmCode.ENCLAVE_LOST, SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE],
  [AesmCode.ENCLAVE_LOAD_ERROR, SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE],
  [AesmCode.BUSY, SgxStatus.SGX_ERROR_BUSY],
  [AesmCode.UPDATE_AVAILABLE, SgxStatus.SGX_ERROR_UPDATE_NEEDED],
  [AesmCode.OUT_OF_MEMORY_ERROR, SgxStatus.SGX_ERROR_OUT_OF_MEMORY],
  [AesmCode.UNRECOGNIZED_PLATFORM, SgxStatus.SGX_ERROR_UNRECOGNIZED_PLATFORM],
]);

// Step 3 pieces shared by init and get-quote (EPID blob, revoked, backend busy, provisioning, EPC).
const QUOTE_PATH_EXTRAS: ReadonlyArray<[number, number]> = [
  [AesmCode.EPIDBLOB_ERROR, SgxStatus.SGX_ERROR_INVALID_EPID_BLOB],
  [AesmCode.EPID_REVOKED_ERROR, SgxStatus.SGX_ERROR_EPID_MEMBER_REVOKED],
  [AesmCode.BACKEND_SERVER_BUSY, SgxStatus.SGX_ERROR_BUSY],
  [AesmCode.SGX_PROVISION_FAILED, SgxStatus.SGX_ERROR_UNEXPECTED],
  [AesmCode.OUT_OF_EPC, SgxStatus.SGX_ERROR_OUT_OF_EPC],
];

/** Step 3: per-API refinement, consulted only when step 2 gave 0x0001 for an errorCode other than 1. */
export const OPERATION_STATUS: Readonly<Record<AesmOperation, ReadonlyMap<number, number>>> = Object.freeze({
  selectAttKeyId: new Map([[AesmCode.UNSUPPORTED_ATT_KEY_ID, SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID]]),
  initQuoteEx: new Map([
    [AesmCode.UNSUPPORTED_ATT_KEY_ID, SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID],
    [AesmCode.KEY_CERTIFICATION_ERROR, SgxStatus.SGX_ERROR_ATT_KEY_CERTIFICATION_FAILURE],
    [AesmCode.NO_PLATFORM_CERT_DATA, SgxStatus.SGX_ERROR_PLATFORM_CERT_UNAVAILABLE],
    ...QUOTE_PATH_EXTRAS,
  ]),
  getQuoteSizeEx: new Map([
    [AesmCode.ATT_KEY_NOT_INITIALIZED, SgxStatus.SGX_ERROR_ATT_KEY_UNINITIALIZED],
    [AesmCode.ATT_KEY_CERT_DATA_INVALID, SgxStatus.SGX_ERROR_UNEXPECTED],
    [AesmCode.UNSUPPORTED_ATT_KEY_ID, SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID],
  ]),
  getQuoteEx: new Map([
    [AesmCode.ATT_KEY_NOT_INITIALIZED, SgxStatus.SGX_ERROR_ATT_KEY_UNINITIALIZED],
    [AesmCode.ATT_KEY_CERT_DATA_INVALID, SgxStatus.SGX_ERROR_UNEXPECTED],
    [AesmCode.UNSUPPORTED_ATT_KEY_ID, SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID],
    [AesmCode.ERROR_REPORT, SgxStatus.SGX_ERROR_MAC_MISMATCH],
    [AesmCode.INVALID_REPORT, SgxStatus.SGX_ERROR_MAC_MISMATCH],
    [AesmCode.UNABLE_TO_GENERATE_QE_REPORT, SgxStatus.SGX_ERROR_UNEXPECTED],
    ...QUOTE_PATH_EXTRAS,
  ]),
  getSupportedAttKeyIdNum: new Map(),
  getSupportedAttKeyIds: new Map(),
});

/** sgx_status_t that Intel's libsgx_quote_ex returns for `aesmCode` from operation `op` (steps 2–3). */
export function sgxStatusFor(op: AesmOperation, aesmCode: number): number {
  const common = COMMON_STATUS.get(aesmCode);
  if (common !== undefined) return common;
  return OPERATION_STATUS[op].get(aesmCode) ?? SgxStatus.SGX_ERROR_UNEXPECTED;
}

/** Step 4 (sgx_status_to_quote3_error in the DCAP wrapper); everything unlisted becomes 0xE001. */
export const QUOTE3_FOR_STATUS: ReadonlyMap<number, number> = new Map([
  [SgxStatus.SGX_SUCCESS, Quote3Error.SGX_QL_SUCCESS],
  [SgxStatus.SGX_ERROR_UNEXPECTED, Quote3Error.SGX_QL_ERROR_UNEXPECTED],
  [SgxStatus.SGX_ERROR_INVALID_PARAMETER, Quote3Error.SGX_QL_ERROR_INVALID_PARAMETER],
  [SgxStatus.SGX_ERROR_OUT_OF_MEMORY, Quote3Error.SGX_QL_ERROR_OUT_OF_MEMORY],
  [SgxStatus.SGX_ERROR_NO_DEVICE, Quote3Error.SGX_QL_NO_DEVICE],
  [SgxStatus.SGX_ERROR_SERVICE_UNAVAILABLE, Quote3Error.SGX_QL_SERVICE_UNAVAILABLE],
  [SgxStatus.SGX_ERROR_NETWORK_FAILURE, Quote3Error.SGX_QL_NETWORK_FAILURE],
  [SgxStatus.SGX_ERROR_SERVICE_TIMEOUT, Quote3Error.SGX_QL_SERVICE_TIMEOUT],
  [SgxStatus.SGX_ERROR_BUSY, Quote3Error.SGX_QL_ERROR_BUSY],
  [SgxStatus.SGX_ERROR_UNSUPPORTED_ATT_KEY_ID, Quote3Error.SGX_QL_UNSUPPORTED_ATT_KEY_ID],
  [SgxStatus.SGX_ERROR_ATT_KEY_CERTIFICATION_FAILURE, Quote3Error.SGX_QL_ATT_KEY_CERT_DATA_INVALID],
  [SgxStatus.SGX_ERROR_PLATFORM_CERT_UNAVAILABLE, Quote3Error.SGX_QL_NO_PLATFORM_CERT_DATA],
  [SgxStatus.SGX_ERROR_ATT_KEY_UNINITIALIZED, Quote3Error.SGX_QL_ATT_KEY_NOT_INITIALIZED],
]);

export function quote3ErrorFor(sgxStatus: number): number {
  return QUOTE3_FOR_STATUS.get(sgxStatus) ?? Quote3Error.SGX_QL_ERROR_UNEXPECTED;
}

const SGX_STATUS_NAMES = new Map<number, string>(Object.entries(SgxStatus).map(([n, v]) => [v, n]));
const QUOTE3_NAMES = new Map<number, string>(Object.entries(Quote3Error).map(([n, v]) => [v, n]));

const hex4 = (v: number): string => `0x${v.toString(16).padStart(4, '0')}`;

/** `SGX_ERROR_BUSY` etc.; `SGX_STATUS_0x....` for values outside the table. */
export function sgxStatusName(status: number): string {
  return SGX_STATUS_NAMES.get(status) ?? `SGX_STATUS_${hex4(status)}`;
}

export function quote3ErrorName(code: number): string {
  return QUOTE3_NAMES.get(code) ?? `SGX_QL_ERROR_${hex4(code)}`;
}

/** One record for logs: what a given errorCode becomes at each layer of Intel's client stack. */
export interface AesmStatusChain {
  aesmCode: number;
  aesmName: string;
  sgxStatus: number;
  sgxStatusName: string;
  quote3Error: number;
  quote3ErrorName: string;
}

export function describeAesmCode(op: AesmOperation, aesmCode: number): AesmStatusChain {
  const sgxStatus = sgxStatusFor(op, aesmCode);
  const quote3Error = quote3ErrorFor(sgxStatus);
  return {
    aesmCode,
    aesmName: aesmErrorName(aesmCode),
    sgxStatus,
    sgxStatusName: sgxStatusName(sgxStatus),
    quote3Error,
    quote3ErrorName: quote3ErrorName(quote3Error),
  };
}
