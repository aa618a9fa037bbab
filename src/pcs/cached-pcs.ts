import { PcsError } from './errors.js';
import { type CacheItemKind, type CacheRow, type CollateralCache, isCacheFileDamaged } from './cache.js';
import type { PckCa, PcsClient, Tee } from './pcs-client.js';
import { type CrlResponse, type SignedJsonResponse, parseCrl, parseSignedJson } from './pcs-responses.js';

/** Where an item came from on this call. */
export type ServedFrom = 'upstream' | 'cache' | 'stale-cache';

export interface CacheStatus {
  servedFrom: ServedFrom;
  fetchedAt: Date;
  /** When the item stops being fresh: its own nextUpdate (TCB info, QE identity, CRL). */
  nextUpdate?: Date;
  /** Only for 'stale-cache': the moment the served copy expired. */
  staleSince?: Date;
  /** Only for 'stale-cache': why the refresh failed. */
  upstreamError?: string;
}

export interface Cached<T> {
  value: T;
  cache: CacheStatus;
}

/** A stale item in a collateral answer: what, which one, expired since when, and why it was not refreshed. */
export interface StaleItem {
  item: CacheItemKind;
  key: string;
  since: Date;
  fetchedAt: Date;
  error: string;
}

export interface CachedPcsOptions {
  client: PcsClient;
  /** Without a cache every call goes upstream (the same code path, nothing remembered). */
  cache?: CollateralCache;
  now?: () => Date;
  /**
   * Serve an expired copy when the upstream fails (network, timeout, 5xx, 429, malformed answer) for at most
   * this long past its nextUpdate. Default: no limit — the verifier still reports the collateral as expired.
   * 400/404/410 answers are authoritative and never hidden behind a stale copy.
   */
  maxStaleSeconds?: number;
  /** Refetch earlier than nextUpdate once a copy is this old (Intel may reissue before nextUpdate). */
  maxAgeSeconds?: number;
  /** Freshness of a CRL that has no nextUpdate; default one day. */
  crlDefaultMaxAgeSeconds?: number;
  /** Never contact the upstream: serve what is cached (expired copies flagged stale), else NOT_CACHED. */
  offline?: boolean;
  /** Told about every cache fault (after it was counted and, for a damaged file, the file rebuilt). */
  onCacheFault?: (fault: CacheFault) => void;
}

/**
 * A cache read, write or decode that failed. The cache is only a copy: the item is fetched from the
 * upstream as on a miss, and a damaged file is moved aside and recreated (`rebuiltAs` says where it went).
 */
export interface CacheFault {
  op: 'read' | 'write' | 'decode';
  kind: CacheItemKind;
  key: string;
  error: string;
  /** Set when the damaged file was moved aside (to this path) and an empty cache created in its place. */
  movedAside?: string;
  /** Set when the rebuild itself failed: the item is still served, uncached. */
  rebuildError?: string;
}

export interface CachedPcs {
  readonly source: string;
  tcbInfo(tee: Tee, fmspc: string): Promise<Cached<SignedJsonResponse>>;
  qeIdentity(tee: Tee): Promise<Cached<SignedJsonResponse>>;
  pckCrl(ca: PckCa): Promise<Cached<CrlResponse>>;
  rootCaCrl(): Promise<Cached<CrlResponse>>;
  /** Refetch one cached row regardless of freshness (the `collateral refresh` command). */
  refreshRow(kind: CacheItemKind, key: string): Promise<Cached<SignedJsonResponse | CrlResponse>>;
  /** Cache faults met so far (reads, writes, undecodable rows), each answered from the upstream. */
  readonly cacheFaults: number;
}

type AnyResponse = SignedJsonResponse | CrlResponse;

function isSigned(r: AnyResponse): r is SignedJsonResponse {
  return typeof (r as SignedJsonResponse).rawBody === 'string';
}

export function tcbInfoKey(tee: Tee, fmspc: string): string {
  return `${tee}:${fmspc.toUpperCase()}`;
}

function decodeRow(row: CacheRow): AnyResponse {
  switch (row.kind) {
    case 'tcbInfo':
    case 'qeIdentity':
      return parseSignedJson({
        url: row.url,
        rawBody: row.body.toString('utf8'),
        member: row.kind === 'tcbInfo' ? 'tcbInfo' : 'enclaveIdentity',
        issuerChainHeader: row.issuerChainHeader ?? '',
        fetchedAt: row.fetchedAt,
        simulated: row.simulated,
      });
    case 'pckCrl':
    case 'rootCaCrl':
      return parseCrl({
        url: row.url,
        rawBody: row.body,
        what: row.kind === 'pckCrl' ? `PCK ${row.key} CRL` : 'root CA CRL',
        contentType: row.contentType,
        issuerChainHeader: row.issuerChainHeader,
        fetchedAt: row.fetchedAt,
        simulated: row.simulated,
      });
    default:
      throw new PcsError('CACHE', `cache row of unknown kind ${String(row.kind)}`);
  }
}

export function createCachedPcs(opts: CachedPcsOptions): CachedPcs {
  const { client, cache } = opts;
  const source = client.baseUrl;
  const now = opts.now ?? (() => new Date());
  const crlDefaultMaxAgeMs = (opts.crlDefaultMaxAgeSeconds ?? 86_400) * 1000;
  const inflight = new Map<string, Promise<AnyResponse>>();

  /** The instant a row stops being fresh. */
  function expiry(row: { fetchedAt: Date; nextUpdate?: Date }): Date {
    let t = row.nextUpdate ? row.nextUpdate.getTime() : row.fetchedAt.getTime() + crlDefaultMaxAgeMs;
    if (opts.maxAgeSeconds !== undefined) t = Math.min(t, row.fetchedAt.getTime() + opts.maxAgeSeconds * 1000);
    return new Date(t);
  }

  function upstream(kind: CacheItemKind, key: string): Promise<AnyResponse> {
    switch (kind) {
      case 'tcbInfo': {
        const [tee, fmspc] = key.split(':') as [Tee, string];
        return client.getTcbInfo(tee, fmspc);
      }
      case 'qeIdentity':
        return client.getQeIdentity(key as Tee);
      case 'pckCrl':
        return client.getPckCrl(key as PckCa);
      case 'rootCaCrl':
        return client.getRootCaCrl();
    }
  }

  /** One upstream request per item at a time, however many callers wait for it. */
  function fetchOnce(kind: CacheItemKind, key: string): Promise<AnyResponse> {
    const id = `${kind}\u0000${key}`;
    let p = inflight.get(id);
    if (!p) {
      p = upstream(kind, key).finally(() => inflight.delete(id));
      inflight.set(id, p);
    }
    return p;
  }

  let cacheFaults = 0;

  /** Count and report a cache failure; a damaged file is replaced by a new empty one at once. */
  function fault(op: CacheFault['op'], kind: CacheItemKind, key: string, err: unknown): void {
    cacheFaults++;
    const f: CacheFault = { op, kind, key, error: err instanceof Error ? err.message : String(err) };
    // A read or write error that names damage, or an undecodable row in a file that fails SQLite's check.
    if (cache && (op === 'decode' ? !cache.isIntact() : isCacheFileDamaged(err))) {
      try {
        f.movedAside = cache.rebuild();
      } catch (e) {
        f.rebuildError = (e as Error).message;
      }
    }
    try {
      opts.onCacheFault?.(f);
    } catch {
      // a failing observer must not turn a served answer into an error
    }
  }

  function readRow(kind: CacheItemKind, key: string): { row: CacheRow; value: AnyResponse } | undefined {
    let row: CacheRow | undefined;
    try {
      row = cache?.get(source, kind, key);
    } catch (err) {
      fault('read', kind, key, err);
      return undefined;
    }
    if (!row) return undefined;
    try {
      return { row, value: decodeRow(row) };
    } catch (err) {
      // A garbage row is our fault, not the upstream's: refetch it (the fresh copy overwrites it).
      fault('decode', kind, key, err);
      return undefined;
    }
  }

  function store(kind: CacheItemKind, key: string, r: AnyResponse): void {
    if (!cache) return;
    try {
      put(kind, key, r);
    } catch (err) {
      fault('write', kind, key, err);
    }
  }

  function noteError(kind: CacheItemKind, key: string, message: string, at: Date): void {
    try {
      cache?.noteError(source, kind, key, message, at);
    } catch (err) {
      fault('write', kind, key, err);
    }
  }

  function put(kind: CacheItemKind, key: string, r: AnyResponse): void {
    if (!cache) return;
    cache.put({
      source,
      kind,
      key,
      url: r.url,
      body: isSigned(r) ? Buffer.from(r.rawBody, 'utf8') : r.rawBody,
      contentType: isSigned(r) ? 'application/json' : r.contentType,
      issuerChainHeader: r.issuerChainHeader,
      fetchedAt: r.fetchedAt,
      nextUpdate: r.nextUpdate,
      simulated: r.simulated,
    });
  }

  /** Fetch from upstream (shared with concurrent callers) and write the answer through to the cache. */
  async function fetchAndStore(kind: CacheItemKind, key: string): Promise<Cached<AnyResponse>> {
    const fresh = await fetchOnce(kind, key);
    store(kind, key, fresh);
    return { value: fresh, cache: { servedFrom: 'upstream', fetchedAt: fresh.fetchedAt, nextUpdate: fresh.nextUpdate } };
  }

  async function item(kind: CacheItemKind, key: string): Promise<Cached<AnyResponse>> {
    const t = now();
    const hit = readRow(kind, key);
    const row = hit?.row;
    if (hit && row) {
      const exp = expiry(row);
      if (t.getTime() < exp.getTime()) {
        return { value: hit.value, cache: { servedFrom: 'cache', fetchedAt: row.fetchedAt, nextUpdate: row.nextUpdate } };
      }
    }
    if (opts.offline) {
      if (!hit || !row) throw new PcsError('NOT_CACHED', `offline: no cached ${kind} ${key} from ${source}`);
      const since = expiry(row);
      return {
        value: hit.value,
        cache: { servedFrom: 'stale-cache', fetchedAt: row.fetchedAt, nextUpdate: row.nextUpdate, staleSince: since, upstreamError: 'offline mode' },
      };
    }
    try {
      return await fetchAndStore(kind, key);
    } catch (err) {
      if (!hit || !row || !(err instanceof PcsError) || err.isDefinitive || err.code === 'BAD_REQUEST') throw err;
      const since = expiry(row);
      if (opts.maxStaleSeconds !== undefined && t.getTime() - since.getTime() > opts.maxStaleSeconds * 1000) {
        throw new PcsError(
          err.code,
          `${err.message}; the cached ${kind} ${key} expired at ${since.toISOString()}, beyond the ${opts.maxStaleSeconds} s stale limit`,
          { status: err.status, errorCode: err.errorCode, errorMessage: err.errorMessage, retryAfterSeconds: err.retryAfterSeconds, url: err.url, cause: err },
        );
      }
      noteError(kind, key, err.message, t);
      return {
        value: hit.value,
        cache: { servedFrom: 'stale-cache', fetchedAt: row.fetchedAt, nextUpdate: row.nextUpdate, staleSince: since, upstreamError: err.message },
      };
    }
  }

  return {
    source,
    tcbInfo: async (tee, fmspc) => {
      if (!/^[0-9a-fA-F]{12}$/.test(fmspc)) throw new PcsError('BAD_REQUEST', `FMSPC must be 12 hex digits, got ${JSON.stringify(fmspc)}`);
      return (await item('tcbInfo', tcbInfoKey(tee, fmspc))) as Cached<SignedJsonResponse>;
    },
    qeIdentity: async (tee) => (await item('qeIdentity', tee)) as Cached<SignedJsonResponse>,
    pckCrl: async (ca) => {
      if (ca !== 'processor' && ca !== 'platform') throw new PcsError('BAD_REQUEST', `ca must be processor or platform, got ${String(ca)}`);
      return (await item('pckCrl', ca)) as Cached<CrlResponse>;
    },
    rootCaCrl: async () => (await item('rootCaCrl', 'root')) as Cached<CrlResponse>,
    refreshRow: async (kind, key) => {
      try {
        return await fetchAndStore(kind, key);
      } catch (err) {
        noteError(kind, key, (err as Error).message, now());
        throw err;
      }
    },
    get cacheFaults() {
      return cacheFaults;
    },
  };
}
