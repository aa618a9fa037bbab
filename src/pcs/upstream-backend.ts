import type { CollateralCache } from './cache.js';
import { type CacheFault, type Cached, type CachedPcs, createCachedPcs } from './cached-pcs.js';
import { encodeIssuerChainHeader } from './issuer-chain.js';
import type { PcsClient } from './pcs-client.js';
import type { CrlResponse, SignedJsonResponse } from './pcs-responses.js';
import type { CollateralBackend, ServedItem } from './server-backend.js';
import { derCrlToPem } from './server-backend.js';

function cacheInfo<T>(r: Cached<T>): Pick<ServedItem, 'cache' | 'stale'> {
  switch (r.cache.servedFrom) {
    case 'cache':
      return { cache: 'hit' };
    case 'upstream':
      return { cache: 'miss' };
    case 'stale-cache':
      return { cache: 'stale', stale: { since: r.cache.staleSince ?? r.cache.fetchedAt, error: r.cache.upstreamError ?? 'unknown' } };
  }
}

function sim(r: { simulated?: boolean }): Pick<ServedItem, 'simulated'> {
  return r.simulated ? { simulated: true } : {};
}

/** The header value as the upstream sent it, or re-encoded when it came decoded. */
function chainHeader(r: { issuerChainHeader?: string; issuerChain?: string }): string {
  if (r.issuerChainHeader && !r.issuerChainHeader.includes('-----BEGIN CERTIFICATE-----')) return r.issuerChainHeader;
  return encodeIssuerChainHeader(r.issuerChain ?? '');
}

/**
 * A caching proxy for an upstream PCS / PCCS / THIM: the standard items (latest TCB info, QE identity,
 * PCK CRLs, root CRL) go through the SQLite cache and are replayed byte for byte; requests for a specific
 * `tcbEvaluationDataNumber` or `update=early`, and PCK certificates, are forwarded uncached.
 */
export function createUpstreamBackend(opts: {
  client: PcsClient;
  cache?: CollateralCache;
  now?: () => Date;
  maxStaleSeconds?: number;
  onCacheFault?: (fault: CacheFault) => void;
  /** Refetch a cached item once it is this old, even before its nextUpdate. */
  maxAgeSeconds?: number;
}): CollateralBackend & { readonly pcs: CachedPcs } {
  const { client } = opts;
  const pcs = createCachedPcs({ client, cache: opts.cache, now: opts.now, maxStaleSeconds: opts.maxStaleSeconds, maxAgeSeconds: opts.maxAgeSeconds, onCacheFault: opts.onCacheFault });

  const signed = (r: SignedJsonResponse, header: string, info: Pick<ServedItem, 'cache' | 'stale'>): ServedItem => ({
    body: r.rawBody,
    contentType: 'application/json',
    headers: { [header]: chainHeader(r) },
    ...info,
    ...sim(r),
  });

  return {
    mode: 'proxy',
    simulated: false,
    pcs,
    health: () => ({ cacheFaults: pcs.cacheFaults }),
    async tcbInfo(tee, fmspc, q) {
      if (q.update === 'early' || q.tcbEvaluationDataNumber !== undefined) {
        return signed(await client.getTcbInfo(tee, fmspc, q), 'TCB-Info-Issuer-Chain', { cache: 'miss' });
      }
      const r = await pcs.tcbInfo(tee, fmspc);
      return signed(r.value, 'TCB-Info-Issuer-Chain', cacheInfo(r));
    },
    async qeIdentity(tee, q) {
      if (q.update === 'early' || q.tcbEvaluationDataNumber !== undefined) {
        return signed(await client.getQeIdentity(tee, q), 'SGX-Enclave-Identity-Issuer-Chain', { cache: 'miss' });
      }
      const r = await pcs.qeIdentity(tee);
      return signed(r.value, 'SGX-Enclave-Identity-Issuer-Chain', cacheInfo(r));
    },
    async pckCrl(ca, encoding) {
      const r: Cached<CrlResponse> = await pcs.pckCrl(ca);
      const headers = { 'SGX-PCK-CRL-Issuer-Chain': chainHeader(r.value) };
      return encoding === 'der'
        ? { body: r.value.der, contentType: 'application/pkix-crl', headers, ...cacheInfo(r), ...sim(r.value) }
        : { body: derCrlToPem(r.value.der), contentType: 'application/x-pem-file', headers, ...cacheInfo(r), ...sim(r.value) };
    },
    async rootCaCrl() {
      const r = await pcs.rootCaCrl();
      return { body: r.value.der.toString('hex'), contentType: 'text/plain', headers: {}, ...cacheInfo(r), ...sim(r.value) };
    },
    async pckCert(q) {
      const r = await client.getPckCert(q);
      const headers: Record<string, string> = { 'SGX-PCK-Certificate-Issuer-Chain': chainHeader(r) };
      if (r.tcbm) headers['SGX-TCBm'] = r.tcbm;
      if (r.fmspc) headers['SGX-FMSPC'] = r.fmspc;
      if (r.caType) headers['SGX-PCK-Certificate-CA-Type'] = r.caType;
      return { body: r.pckCertPem, contentType: 'application/x-pem-file', headers, cache: 'miss', ...sim(r) };
    },
  };
}
