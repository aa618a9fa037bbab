/**
 * Placeholder for the hardware provider (Intel's libsgx_dcap_ql through koffi). The interface is
 * ready for it (maxConcurrency 1: the daemon serialises calls to a blocking native library); the
 * implementation replaces this file.
 */
import type { QuoteProvider } from '../provider.js';

export class DcapUnavailableError extends Error {
  override readonly name = 'DcapUnavailableError';
  readonly code = 'DCAP_NOT_AVAILABLE';
  constructor() {
    super("dcap provider not available in this build: the hardware provider (Intel's libsgx_dcap_ql) is not built yet (use --provider sim or --provider upstream --upstream <aesmd socket>)");
  }
}

export async function createDcapProvider(): Promise<QuoteProvider> {
  throw new DcapUnavailableError();
}
