// Which operation lives in which wrapper field (wire spec §3.1). Request and response use the same
// field number for an operation, and the daemon must always answer in that field (spec §8 item 1).
import type { AesmOperation } from './status-mapping.js';

/** Wrapper field numbers of the six quote_ex operations. */
export const QUOTE_EX_FIELD: Readonly<Record<AesmOperation, number>> = Object.freeze({
  initQuoteEx: 15,
  getQuoteSizeEx: 16,
  getQuoteEx: 17,
  selectAttKeyId: 19,
  getSupportedAttKeyIdNum: 21,
  getSupportedAttKeyIds: 22,
});

const OPERATION_BY_FIELD = new Map<number, AesmOperation>(
  Object.entries(QUOTE_EX_FIELD).map(([op, n]) => [n, op as AesmOperation]),
);

/** Legacy (EPID, launch token, white list, …) requests: wrapper field → Request field name. */
export const LEGACY_REQUEST_FIELDS: ReadonlyMap<number, string> = new Map([
  [1, 'initQuoteReq'],
  [2, 'getQuoteReq'],
  [3, 'getLicTokenReq'],
  [4, 'reportErrReq'],
  [10, 'getWhiteListSizeReq'],
  [11, 'getWhiteListReq'],
  [12, 'sgxGetExtendedEpidGroupIdReq'],
  [13, 'sgxSwitchExtendedEpidGroupReq'],
  [14, 'sgxRegisterReq'],
  [18, 'checkUpdateStatusReq'],
]);

/**
 * aesmd looks for a request sub-message in this fixed order and uses the first it finds
 * (IPC/ProtobufSerializer.cpp, spec §8 item 13).
 */
export const REQUEST_DISPATCH_ORDER: readonly number[] = Object.freeze([
  3, 1, 2, 4, 18, 10, 11, 12, 13, 14, 15, 16, 17, 19, 21, 22,
]);

/** Response field 20 exists in the schema but aesmd never sends it; sending it crashes Intel's client. */
export const UNSUPPORTED_REQUEST_RESPONSE_FIELD = 20;

export function operationForField(fieldNumber: number): AesmOperation | undefined {
  return OPERATION_BY_FIELD.get(fieldNumber);
}

export function isLegacyField(fieldNumber: number): boolean {
  return LEGACY_REQUEST_FIELDS.has(fieldNumber);
}
