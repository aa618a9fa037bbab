export { createDcapProvider, DcapUnavailableError } from './dcap-provider.js';
