// The AESM (aesmd) wire protocol: framing, typed messages over the generated protobuf code,
// aesm_error_t and the client-side status mapping. See docs/wire-protocol.md.
export * from './errors.js';
export * from './status-mapping.js';
export * from './framing.js';
export * from './kinds.js';
export * from './wire-error.js';
export * from './messages.js';
