/**
 * sgx-quote-helper as a library. The sub-paths hold each layer's full API:
 * `sgx-quote-helper/client`, `/verify`, `/pcs`, `/sgx`, `/aesm`, `/providers/sim`.
 * The root re-exports what most applications need.
 */
export { VERSION } from './version.js';
export { AesmClient, AesmClientError } from './client/index.js';
export { createVerifier, verifyQuote } from './verify/index.js';
export type { VerificationResult, QuoteVerifier, Policy } from './verify/index.js';
export { parseQuote, encodeQuote, SgxParseError } from './sgx/index.js';
export type { Quote } from './sgx/index.js';
