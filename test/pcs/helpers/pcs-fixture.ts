import type { Reply, ReplayServer } from './replay-server.js';
import { startReplayServer } from './replay-server.js';
import { goTdx } from './testdata.js';

/**
 * A replayed PCS (stand-in for Intel's servers, an external boundary) serving the go-tdx-guest TDX
 * collateral: TCB info 50806f000000 (nextUpdate 2023-07-18T08:42:58Z), TD_QE identity (2023-07-08T07:24:59Z),
 * platform PCK CRL (2023-07-08T07:27:52Z), root CA CRL as PCCS hex (2024-04-02T10:22:51Z).
 * `mode` switches it to failing answers to exercise the cache.
 */
export interface PcsFixture extends ReplayServer {
  mode: 'ok' | 'down' | 'not-found' | 'rate-limited';
}

export async function startTdxPcsFixture(): Promise<PcsFixture> {
  const fx = { mode: 'ok' } as { mode: PcsFixture['mode'] };
  const guard = (ok: Reply): (() => Reply) => () => {
    if (fx.mode === 'down') return { status: 503, body: 'maintenance' };
    if (fx.mode === 'not-found') return { status: 404 };
    if (fx.mode === 'rate-limited') return { status: 429, headers: { 'Retry-After': '60' } };
    return ok;
  };
  const srv = await startReplayServer({
    '/tdx/certification/v4/tcb': guard({ headers: { 'TCB-Info-Issuer-Chain': goTdx.tcbChainEncoded() }, body: goTdx.tcbInfoResponse() }),
    '/tdx/certification/v4/qe/identity': guard({ headers: { 'SGX-Enclave-Identity-Issuer-Chain': goTdx.qeChainEncoded() }, body: goTdx.qeIdentityResponse() }),
    '/sgx/certification/v4/pckcrl': guard({ headers: { 'SGX-PCK-CRL-Issuer-Chain': goTdx.crlChainEncoded() }, body: goTdx.pckCrl() }),
    '/sgx/certification/v4/rootcacrl': guard({ body: goTdx.rootCrl().toString('hex') }),
  });
  return Object.defineProperty(srv, 'mode', { get: () => fx.mode, set: (m) => (fx.mode = m), enumerable: true }) as PcsFixture;
}

export const TDX_QUERY = { tee: 'TDX', fmspc: goTdx.fmspc, ca: 'platform' } as const;
