export { runDemo, DemoError } from './run-demo.js';
export type { DemoOptions } from './run-demo.js';
export { SimAppEnclave, DEFAULT_APP_ATTRIBUTES, quoteFromSimEnclave } from './sim-app-enclave.js';
export type { SimQuoteOutcome } from './sim-app-enclave.js';
export { parseHexField, DemoInputError } from './hex-input.js';
export { CliProcess, cliInvocation } from './cli-process.js';
