/**
 * createProvider: choose and build a QuoteProvider.
 *
 * `auto` picks, in order: `upstream` when an upstream socket is configured; `dcap` when an SGX
 * device (/dev/sgx_enclave or the legacy /dev/sgx/enclave) and Intel's libsgx_dcap_ql.so.1 are both
 * present; otherwise `sim` (SIMULATED quotes, said loudly). `chooseProvider` also says why, for the
 * start-up log line.
 */
import type { Logger } from 'pino';
import type { QuoteProvider } from './provider.js';
import { createUpstreamProvider } from './upstream/index.js';
import { checkDcapHost, createDcapProvider, type DcapProviderOptions } from './dcap/index.js';

export type { QuoteProvider, ProviderHealth } from './provider.js';
export { collateralToDcapQvlJson, type Collateral } from './collateral.js';
export { TCB_STATUSES, type TcbStatus } from './tcb-status.js';
export { createUpstreamProvider } from './upstream/index.js';
export { createDcapProvider, checkDcapHost, DcapUnavailableError, type DcapProviderOptions } from './dcap/index.js';

export type ProviderKindOption = 'auto' | 'sim' | 'upstream' | 'dcap';
export type ProviderKind = Exclude<ProviderKindOption, 'auto'>;

/** The dcap provider's settings (flags --dcap-*). */
export type DcapSettings = Pick<DcapProviderOptions, 'libDir' | 'qe3Path' | 'pcePath' | 'qplPath' | 'idePath' | 'warmupTimeoutMs' | 'deviceDir'>;

export interface CreateProviderOptions {
  /** Sim state directory. */
  stateDir: string;
  /** Upstream AESM socket path (needed for `upstream`; makes `auto` choose upstream). */
  upstreamSocket?: string;
  upstreamTimeoutMs?: number;
  dcap?: DcapSettings;
  /** The daemon's provider-call timeout (the dcap provider counts native calls past it as stuck). */
  providerTimeoutMs?: number;
  logger?: Logger;
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

export interface ProviderChoice {
  kind: ProviderKind;
  /** Why: asked for explicitly, or what `auto` found. */
  reason: string;
}

/** Which provider `kind` resolves to, and why, without creating it. */
export function chooseProvider(kind: ProviderKindOption, opts: Pick<CreateProviderOptions, 'upstreamSocket' | 'dcap'> & { env?: NodeJS.ProcessEnv }): ProviderChoice {
  if (kind !== 'auto') return { kind, reason: `--provider ${kind} requested` };
  if (opts.upstreamSocket) return { kind: 'upstream', reason: `auto: an upstream AESM socket is configured (${opts.upstreamSocket})` };
  const host = checkDcapHost({ ...(opts.dcap?.libDir ? { libDir: opts.dcap.libDir } : {}), ...(opts.dcap?.deviceDir ? { deviceDir: opts.dcap.deviceDir } : {}), ...(opts.env ? { env: opts.env } : {}) });
  if (host.enclaveDevice && host.library) {
    return { kind: 'dcap', reason: `auto: SGX device ${host.enclaveDevice} and Intel's library ${host.library} are present` };
  }
  const missing = [
    host.enclaveDevice ? undefined : 'no SGX device (/dev/sgx_enclave, /dev/sgx/enclave)',
    host.library ? undefined : `no libsgx_dcap_ql.so.1 (searched ${host.librarySearched.join(', ')})`,
  ].filter(Boolean);
  return { kind: 'sim', reason: `auto: ${missing.join(' and ')}, so the SIMULATED provider (quotes are not backed by SGX hardware)` };
}

/** Which provider `auto` resolves to, without creating it. */
export function resolveProviderKind(kind: ProviderKindOption, opts: Pick<CreateProviderOptions, 'upstreamSocket' | 'dcap'> = {}): ProviderKind {
  return chooseProvider(kind, opts).kind;
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
      return createDcapProvider({
        ...opts.dcap,
        ...(opts.providerTimeoutMs ? { callTimeoutMs: opts.providerTimeoutMs } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      });
    case 'sim': {
      // Loaded on demand: the simulator pulls in the PKI code, which upstream/dcap deployments never need.
      const sim: SimModule = await import('./sim/index.js');
      return sim.createSimProvider({ stateDir: opts.stateDir });
    }
    default:
      throw new ProviderConfigError('UNKNOWN_PROVIDER', `unknown provider "${String(resolved)}"`);
  }
}
