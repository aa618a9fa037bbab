/**
 * quote3_error_t, the result of every sgx_ql_* call, and what aesmd answers for it on the wire
 * (quote3_error_to_aesm_error() in aesmd's ECDSA quote service bundle). Clients of this daemon see
 * exactly the AESM codes Intel's aesmd would send; the native value goes to logs and metrics.
 */
import { AesmCode } from '../../aesm/errors.js';

/** Names of the quote3_error_t values (sgx_ql_lib_common.h). Verification-only values included, for logs. */
export const QUOTE3_ERROR_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0000, 'SGX_QL_SUCCESS'],
  [0xe001, 'SGX_QL_ERROR_UNEXPECTED'],
  [0xe002, 'SGX_QL_ERROR_INVALID_PARAMETER'],
  [0xe003, 'SGX_QL_ERROR_OUT_OF_MEMORY'],
  [0xe004, 'SGX_QL_ERROR_ECDSA_ID_MISMATCH'],
  [0xe005, 'SGX_QL_PATHNAME_BUFFER_OVERFLOW_ERROR'],
  [0xe006, 'SGX_QL_FILE_ACCESS_ERROR'],
  [0xe007, 'SGX_QL_ERROR_STORED_KEY'],
  [0xe008, 'SGX_QL_ERROR_PUB_KEY_ID_MISMATCH'],
  [0xe009, 'SGX_QL_ERROR_INVALID_PCE_SIG_SCHEME'],
  [0xe00a, 'SGX_QL_ATT_KEY_BLOB_ERROR'],
  [0xe00b, 'SGX_QL_UNSUPPORTED_ATT_KEY_ID'],
  [0xe00c, 'SGX_QL_UNSUPPORTED_LOADING_POLICY'],
  [0xe00d, 'SGX_QL_INTERFACE_UNAVAILABLE'],
  [0xe00e, 'SGX_QL_PLATFORM_LIB_UNAVAILABLE'],
  [0xe00f, 'SGX_QL_ATT_KEY_NOT_INITIALIZED'],
  [0xe010, 'SGX_QL_ATT_KEY_CERT_DATA_INVALID'],
  [0xe011, 'SGX_QL_NO_PLATFORM_CERT_DATA'],
  [0xe012, 'SGX_QL_OUT_OF_EPC'],
  [0xe013, 'SGX_QL_ERROR_REPORT'],
  [0xe014, 'SGX_QL_ENCLAVE_LOST'],
  [0xe015, 'SGX_QL_INVALID_REPORT'],
  [0xe016, 'SGX_QL_ENCLAVE_LOAD_ERROR'],
  [0xe017, 'SGX_QL_UNABLE_TO_GENERATE_QE_REPORT'],
  [0xe018, 'SGX_QL_KEY_CERTIFCATION_ERROR'],
  [0xe019, 'SGX_QL_NETWORK_ERROR'],
  [0xe01a, 'SGX_QL_MESSAGE_ERROR'],
  [0xe01b, 'SGX_QL_NO_QUOTE_COLLATERAL_DATA'],
  [0xe01c, 'SGX_QL_QUOTE_CERTIFICATION_DATA_UNSUPPORTED'],
  [0xe01d, 'SGX_QL_QUOTE_FORMAT_UNSUPPORTED'],
  [0xe01e, 'SGX_QL_UNABLE_TO_GENERATE_REPORT'],
  [0xe01f, 'SGX_QL_QE_REPORT_INVALID_SIGNATURE'],
  [0xe020, 'SGX_QL_QE_REPORT_UNSUPPORTED_FORMAT'],
  [0xe021, 'SGX_QL_PCK_CERT_UNSUPPORTED_FORMAT'],
  [0xe022, 'SGX_QL_PCK_CERT_CHAIN_ERROR'],
  [0xe023, 'SGX_QL_TCBINFO_UNSUPPORTED_FORMAT'],
  [0xe024, 'SGX_QL_TCBINFO_MISMATCH'],
  [0xe025, 'SGX_QL_QEIDENTITY_UNSUPPORTED_FORMAT'],
  [0xe026, 'SGX_QL_QEIDENTITY_MISMATCH'],
  [0xe027, 'SGX_QL_TCB_OUT_OF_DATE'],
  [0xe028, 'SGX_QL_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED'],
  [0xe029, 'SGX_QL_SGX_ENCLAVE_IDENTITY_OUT_OF_DATE'],
  [0xe02a, 'SGX_QL_SGX_ENCLAVE_REPORT_ISVSVN_OUT_OF_DATE'],
  [0xe02b, 'SGX_QL_QE_IDENTITY_OUT_OF_DATE'],
  [0xe02c, 'SGX_QL_SGX_TCB_INFO_EXPIRED'],
  [0xe02d, 'SGX_QL_SGX_PCK_CERT_CHAIN_EXPIRED'],
  [0xe02e, 'SGX_QL_SGX_CRL_EXPIRED'],
  [0xe02f, 'SGX_QL_SGX_SIGNING_CERT_CHAIN_EXPIRED'],
  [0xe030, 'SGX_QL_SGX_ENCLAVE_IDENTITY_EXPIRED'],
  [0xe031, 'SGX_QL_PCK_REVOKED'],
  [0xe032, 'SGX_QL_TCB_REVOKED'],
  [0xe033, 'SGX_QL_TCB_CONFIGURATION_NEEDED'],
  [0xe034, 'SGX_QL_UNABLE_TO_GET_COLLATERAL'],
  [0xe035, 'SGX_QL_ERROR_INVALID_PRIVILEGE'],
  [0xe037, 'SGX_QL_NO_QVE_IDENTITY_DATA'],
  [0xe038, 'SGX_QL_CRL_UNSUPPORTED_FORMAT'],
  [0xe039, 'SGX_QL_QEIDENTITY_CHAIN_ERROR'],
  [0xe03a, 'SGX_QL_TCBINFO_CHAIN_ERROR'],
  [0xe03b, 'SGX_QL_ERROR_QVL_QVE_MISMATCH'],
  [0xe03c, 'SGX_QL_TCB_SW_HARDENING_NEEDED'],
  [0xe03d, 'SGX_QL_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED'],
  [0xe03e, 'SGX_QL_UNSUPPORTED_MODE'],
  [0xe03f, 'SGX_QL_NO_DEVICE'],
  [0xe040, 'SGX_QL_SERVICE_UNAVAILABLE'],
  [0xe041, 'SGX_QL_NETWORK_FAILURE'],
  [0xe042, 'SGX_QL_SERVICE_TIMEOUT'],
  [0xe043, 'SGX_QL_ERROR_BUSY'],
  [0xe044, 'SGX_QL_UNKNOWN_MESSAGE_RESPONSE'],
  [0xe045, 'SGX_QL_PERSISTENT_STORAGE_ERROR'],
  [0xe046, 'SGX_QL_ERROR_MESSAGE_PARSING_ERROR'],
  [0xe047, 'SGX_QL_PLATFORM_UNKNOWN'],
  [0xe048, 'SGX_QL_UNKNOWN_API_VERSION'],
  [0xe049, 'SGX_QL_CERTS_UNAVAILABLE'],
  [0xe050, 'SGX_QL_QVEIDENTITY_MISMATCH'],
  [0xe051, 'SGX_QL_QVE_OUT_OF_DATE'],
  [0xe052, 'SGX_QL_PSW_NOT_AVAILABLE'],
  [0xe053, 'SGX_QL_COLLATERAL_VERSION_NOT_SUPPORTED'],
  [0xe060, 'SGX_QL_TDX_MODULE_MISMATCH'],
  [0xe061, 'SGX_QL_QEIDENTITY_NOT_FOUND'],
  [0xe062, 'SGX_QL_TCBINFO_NOT_FOUND'],
  [0xe063, 'SGX_QL_INTERNAL_SERVER_ERROR'],
  [0xe064, 'SGX_QL_SUPPLEMENTAL_DATA_VERSION_NOT_SUPPORTED'],
  [0xe065, 'SGX_QL_ROOT_CA_UNTRUSTED'],
  [0xe066, 'SGX_QL_TCB_NOT_SUPPORTED'],
  [0xe067, 'SGX_QL_CONFIG_INVALID_JSON'],
  [0xe068, 'SGX_QL_RESULT_INVALID_SIGNATURE'],
  [0xe070, 'SGX_QL_QAEIDENTITY_MISMATCH'],
  [0xe071, 'SGX_QL_QAE_OUT_OF_DATE'],
  [0xe072, 'SGX_QL_QUOTE_HASH_MISMATCH'],
  [0xe073, 'SGX_QL_REPORT_DATA_MISMATCH'],
]);

/** Raw sgx_status_t values `load_qe` returns untranslated (dcap-provider spec §2.4), named for logs. */
export const RAW_SGX_STATUS_NAMES: ReadonlyMap<number, string> = new Map([
  [0x0001, 'SGX_ERROR_UNEXPECTED'],
  [0x0002, 'SGX_ERROR_INVALID_PARAMETER'],
  [0x0003, 'SGX_ERROR_OUT_OF_MEMORY'],
  [0x0004, 'SGX_ERROR_ENCLAVE_LOST'],
  [0x2001, 'SGX_ERROR_INVALID_ENCLAVE'],
  [0x2005, 'SGX_ERROR_OUT_OF_EPC'],
  [0x2006, 'SGX_ERROR_NO_DEVICE'],
  [0x200f, 'SGX_ERROR_ENCLAVE_FILE_ACCESS'],
  [0x3002, 'SGX_ERROR_INVALID_ATTRIBUTE'],
  [0x4004, 'SGX_ERROR_SERVICE_INVALID_PRIVILEGE'],
]);

/** aesmd's table, value by value; everything else (raw sgx_status_t values included) is AESM 1. */
const AESM_FOR_QUOTE3: ReadonlyMap<number, number> = new Map([
  [0x0000, AesmCode.SUCCESS],
  [0xe001, AesmCode.UNEXPECTED_ERROR],
  [0xe002, AesmCode.PARAMETER_ERROR],
  [0xe003, AesmCode.OUT_OF_MEMORY_ERROR],
  [0xe004, AesmCode.ECDSA_ID_MISMATCH],
  [0xe005, AesmCode.PATHNAME_BUFFER_OVERFLOW_ERROR],
  [0xe006, AesmCode.FILE_ACCESS_ERROR],
  [0xe007, AesmCode.ERROR_STORED_KEY],
  [0xe008, AesmCode.PUB_KEY_ID_MISMATCH],
  [0xe009, AesmCode.INVALID_PCE_SIG_SCHEME],
  [0xe00a, AesmCode.ATT_KEY_BLOB_ERROR],
  [0xe00b, AesmCode.UNSUPPORTED_ATT_KEY_ID],
  [0xe00c, AesmCode.UNSUPPORTED_LOADING_POLICY],
  [0xe00d, AesmCode.INTERFACE_UNAVAILABLE],
  [0xe00e, AesmCode.PLATFORM_LIB_UNAVAILABLE],
  [0xe00f, AesmCode.ATT_KEY_NOT_INITIALIZED],
  [0xe010, AesmCode.ATT_KEY_CERT_DATA_INVALID],
  [0xe011, AesmCode.NO_PLATFORM_CERT_DATA],
  [0xe012, AesmCode.OUT_OF_EPC],
  [0xe013, AesmCode.ERROR_REPORT],
  [0xe014, AesmCode.ENCLAVE_LOST],
  [0xe015, AesmCode.INVALID_REPORT],
  [0xe016, AesmCode.ENCLAVE_LOAD_ERROR],
  [0xe017, AesmCode.UNABLE_TO_GENERATE_QE_REPORT],
  [0xe018, AesmCode.KEY_CERTIFICATION_ERROR],
  [0xe019, AesmCode.NETWORK_ERROR],
  [0xe01a, AesmCode.MSG_ERROR],
]);

export function aesmCodeForQuote3(code: number): number {
  return AESM_FOR_QUOTE3.get(code) ?? AesmCode.UNEXPECTED_ERROR;
}

export const nativeCodeHex = (code: number): string => `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;

/** The quote3_error_t (or raw sgx_status_t) name, '' when the value has none. */
export function nativeCodeName(code: number): string {
  return QUOTE3_ERROR_NAMES.get(code) ?? RAW_SGX_STATUS_NAMES.get(code) ?? '';
}

/** `0xE016 SGX_QL_ENCLAVE_LOAD_ERROR`; raw sgx_status_t values are named as such. */
export function describeNativeCode(code: number): string {
  const name = nativeCodeName(code);
  return name ? `${nativeCodeHex(code)} ${name}` : `${nativeCodeHex(code)} (not a quote3_error_t)`;
}

/**
 * Errors caused by the request rather than the platform: they do not make the daemon unready.
 * (Invalid parameter, a report not for this QE, no QE report for that target, unknown key id, key
 * not initialised yet: the client's next InitQuoteEx fixes that one.)
 */
export const REQUEST_CAUSED: ReadonlySet<number> = new Set([0xe002, 0xe00b, 0xe00f, 0xe013, 0xe015, 0xe017]);
