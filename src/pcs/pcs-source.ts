import type { CollateralQuery, CollateralSource, SourcedCollateral } from './types.js';
import type { CacheItemKind } from './cache.js';
import { type CacheStatus, type CachedPcs, type CachedPcsOptions, type StaleItem, createCachedPcs, tcbInfoKey } from './cached-pcs.js';

/** Collateral plus how each item was obtained; `stale`/`staleItems` say exactly what was served past expiry. */
export type ReportedCollateral = SourcedCollateral & {
  fetchedAt: Date;
  stale: boolean;
  staleItems: StaleItem[];
  items: Record<CacheItemKind, CacheStatus>;
  /** Base URL of the service the collateral came from. */
  source: string;
  /** The service labelled some item as simulated (our sim-backed server, directly or through a proxy). */
  simulated: boolean;
};

export interface PcsCollateralSource extends CollateralSource {
  get(q: CollateralQuery): Promise<ReportedCollateral>;
  readonly pcs: CachedPcs;
}

/**
 * A CollateralSource over a PCS-shaped service (Intel PCS, PCCS, Azure THIM, our server), optionally
 * through the SQLite cache. The four items are fetched in parallel, each honouring its own nextUpdate.
 */
export function createPcsCollateralSource(opts: CachedPcsOptions): PcsCollateralSource {
  const pcs = createCachedPcs(opts);
  return {
    pcs,
    async get(q) {
      const [tcb, qe, pckCrl, root] = await Promise.all([
        pcs.tcbInfo(q.tee, q.fmspc),
        pcs.qeIdentity(q.tee),
        pcs.pckCrl(q.ca),
        pcs.rootCaCrl(),
      ]);
      const keyed: [CacheItemKind, string, CacheStatus][] = [
        ['tcbInfo', tcbInfoKey(q.tee, q.fmspc), tcb.cache],
        ['qeIdentity', q.tee, qe.cache],
        ['pckCrl', q.ca, pckCrl.cache],
        ['rootCaCrl', 'root', root.cache],
      ];
      const staleItems: StaleItem[] = [];
      for (const [item, key, c] of keyed) {
        if (c.servedFrom === 'stale-cache') {
          staleItems.push({ item, key, since: c.staleSince ?? c.fetchedAt, fetchedAt: c.fetchedAt, error: c.upstreamError ?? 'unknown' });
        }
      }
      const fetchedAt = new Date(Math.min(...keyed.map(([, , c]) => c.fetchedAt.getTime())));
      return {
        teeType: q.tee,
        pckCrlIssuerChain: pckCrl.value.issuerChain ?? '',
        rootCaCrl: root.value.der,
        pckCrl: pckCrl.value.der,
        tcbInfoIssuerChain: tcb.value.issuerChain,
        tcbInfoBody: tcb.value.body,
        tcbInfoSignature: tcb.value.signature,
        qeIdentityIssuerChain: qe.value.issuerChain,
        qeIdentityBody: qe.value.body,
        qeIdentitySignature: qe.value.signature,
        fetchedAt,
        stale: staleItems.length > 0,
        staleItems,
        items: { tcbInfo: tcb.cache, qeIdentity: qe.cache, pckCrl: pckCrl.cache, rootCaCrl: root.cache },
        source: pcs.source,
        simulated: [tcb, qe, pckCrl, root].some((r) => r.value.simulated === true),
      };
    },
  };
}
