import type { CacheItemKind, CollateralCache } from './cache.js';
import { createCachedPcs } from './cached-pcs.js';
import type { PcsClient } from './pcs-client.js';

export interface RefreshOutcome {
  source: string;
  kind: CacheItemKind;
  key: string;
  ok: boolean;
  /** The new copy's nextUpdate (ok) */
  nextUpdate?: Date;
  /** Why the refetch failed; the old copy stays in the cache and is served as stale once expired. */
  error?: string;
}

/**
 * Refetch every cached item (of one source, or of all sources recorded in the cache), fresh or not.
 * Items are fetched one after another: a refresh is a background chore and PCS rate-limits (429).
 */
export async function refreshCache(opts: {
  cache: CollateralCache;
  source?: string;
  clientFor: (baseUrl: string) => PcsClient;
  now?: () => Date;
  onItem?: (o: RefreshOutcome) => void;
}): Promise<RefreshOutcome[]> {
  const rows = opts.cache.list(opts.source);
  const bySource = new Map<string, { kind: CacheItemKind; key: string }[]>();
  for (const r of rows) {
    const list = bySource.get(r.source) ?? [];
    list.push({ kind: r.kind, key: r.key });
    bySource.set(r.source, list);
  }
  const out: RefreshOutcome[] = [];
  for (const [source, items] of bySource) {
    const pcs = createCachedPcs({ client: opts.clientFor(source), cache: opts.cache, now: opts.now });
    for (const { kind, key } of items) {
      let o: RefreshOutcome;
      try {
        const r = await pcs.refreshRow(kind, key);
        o = { source, kind, key, ok: true, nextUpdate: r.cache.nextUpdate };
      } catch (err) {
        o = { source, kind, key, ok: false, error: (err as Error).message };
      }
      opts.onItem?.(o);
      out.push(o);
    }
  }
  return out;
}
