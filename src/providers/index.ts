/**
 * createProvider: choose and build a QuoteProvider.
 *
 * `auto` picks, in order: `upstream` when an upstream socket is configured; `dcap` when SGX hardware
 * is present (/dev/sgx_enclave), which fails in this build with a clear message rather than quietly
 * simulating on a real SGX machine; otherwise `sim` (SIMULATED quotes).
 */
import { existsSync } from 'node:fs';
import type { QuoteProvider } from './provider.js';
import { createUpstreamProvider } from './upstream/index.js';
import { createDcapProvider } from './dcap/index.js';

export type { QuoteProvider, ProviderHealth } from './provider.js';
export { collateralToDcapQvlJson, type Collateral } from './collateral.js';
export { TCB_STATUSES, type TcbStatus } from './tcb-status.js';
export { createUpstreamProvider } from './upstream/index.js';
export { createDcapProvider, DcapUnavailableError } from './dcap/index.js';

export type ProviderKindOption = 'auto' | 'sim' | 'upstream' | 'dcap';

export interface CreateProviderOptions {
  /** Sim state directory. */
  stateDir: string;
  /** Upstream AESM socket path (needed for `upstream`; makes `auto` choose upstream). */
  upstreamSocket?: string;
  upstreamTimeoutMs?: number;
  /** Where SGX hardware would show up (default /dev/sgx_enclave); injectable for tests. */
  sgxDevice?: string;
}

export class ProviderConfigError extends Error {
  override readonly name = 'ProviderConfigError';
  constructor(
    readonly code: 'UPSTREAM_SOCKET_MISSING' | 'UNKNOWN_PROVIDER',
    message: string,
  ) {
    super(message);
  }
}

/** Which provider `auto` resolves to, without creating it. */
export function resolveProviderKind(kind: ProviderKindOption, opts: Pick<CreateProviderOptions, 'upstreamSocket' | 'sgxDevice'>): Exclude<ProviderKindOption, 'auto'> {
  if (kind !== 'auto') return kind;
  if (opts.upstreamSocket) return 'upstream';
  if (existsSync(opts.sgxDevice ?? '/dev/sgx_enclave')) return 'dcap';
  return 'sim';
}

interface SimModule {
  createSimProvider(opts: { stateDir: string }): Promise<QuoteProvider>;
}

export async function createProvider(kind: ProviderKindOption, opts: CreateProviderOptions): Promise<QuoteProvider> {
  const resolved = resolveProviderKind(kind, opts);
  switch (resolved) {
    case 'upstream':
      if (!opts.upstreamSocket) throw new ProviderConfigError('UPSTREAM_SOCKET_MISSING', 'the upstream provider needs an upstream AESM socket path (--upstream)');
      return createUpstreamProvider({ socketPath: opts.upstreamSocket, ...(opts.upstreamTimeoutMs ? { timeoutMs: opts.upstreamTimeoutMs } : {}) });
    case 'dcap':
      return createDcapProvider();
    case 'sim': {
      // Loaded on demand: the simulator pulls in the PKI code, which upstream/dcap deployments never need.
      const sim: SimModule = await import('./sim/index.js');
      return sim.createSimProvider({ stateDir: opts.stateDir });
    }
    default:
      throw new ProviderConfigError('UNKNOWN_PROVIDER', `unknown provider "${String(resolved)}"`);
  }
}
