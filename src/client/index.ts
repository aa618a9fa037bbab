export { AesmClient, ECDSA_PUB_KEY_ID_SIZE } from './aesm-client.js';
export type { AesmClientOptions, GetQuoteOptions, GetQuoteResult, InitQuoteResult, PubKeyIdSizeResult } from './aesm-client.js';
export { AesmClientError, AesmClientOptionError } from './client-error.js';
export type { AesmClientErrorKind } from './client-error.js';
export { DEFAULT_AESM_SOCKET, SOCKET_ENV, resolveSocketPath } from './socket-path.js';
export { DEFAULT_RETRY_DEADLINE_MS, DEFAULT_TIMEOUT_MS } from './transport.js';
export { checkQeReportInfo, createQeReportInfo } from './qe-report-info.js';
export type { QeReportCheck, QeReportCheckFailure } from './qe-report-info.js';
