export { createUpstreamProvider, type UpstreamProviderOptions } from './upstream-provider.js';
export { roundTrip, type RoundTripOptions } from './upstream-transport.js';
