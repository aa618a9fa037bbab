export { createDcapProvider, DcapProvider, DcapUnavailableError, NO_QPL_WARNING, ENCRYPTED_PPID_QUOTE_SIZE, type DcapProviderOptions } from './dcap-provider.js';
export { checkDcapHost, dcapHostProblemMessage, DCAP_PACKAGES, type DcapHostCheck, type DcapHostOptions } from './host-check.js';
export { loadDcapNative, DcapLoadError, DCAP_QL_LIBRARY, QE3_LOGIC_LIBRARY, PCE_LOGIC_LIBRARY, QPL_LIBRARIES, type DcapNative } from './native-binding.js';
export { aesmCodeForQuote3, describeNativeCode, QUOTE3_ERROR_NAMES } from './quote3-errors.js';
