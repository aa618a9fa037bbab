import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CollateralCache, createPcsClient, createPcsCollateralSource, PcsError, refreshCache, CACHE_SCHEMA_VERSION, defaultCachePath } from '../../src/pcs/index.js';
import { startTdxPcsFixture, TDX_QUERY, type PcsFixture } from './helpers/pcs-fixture.js';
import { goTdx, pcsSignatureValid } from './helpers/testdata.js';

// The fixture server replays real PCS answers; it stands in for Intel's PCS (external boundary).

let fx: PcsFixture;
let dir: string;
let cache: CollateralCache;
let clock: Date;
const now = () => clock;

beforeAll(async () => {
  fx = await startTdxPcsFixture();
});
afterAll(() => fx.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-cache-'));
  cache = CollateralCache.open(join(dir, 'c.sqlite'));
  fx.mode = 'ok';
  fx.requests.length = 0;
  clock = new Date('2023-06-20T00:00:00Z');
});
afterEach(() => {
  cache.close();
  rmSync(dir, { recursive: true, force: true });
});

function source(extra: Partial<Parameters<typeof createPcsCollateralSource>[0]> = {}) {
  return createPcsCollateralSource({ client: createPcsClient({ baseUrl: fx.url, now }), cache, now, ...extra });
}

describe('collateral cache (SQLite) honours nextUpdate', () => {
  it('first call goes upstream, later calls are served from the cache while fresh', async () => {
    const s = source();
    const a = await s.get(TDX_QUERY);
    expect(fx.requests).toHaveLength(4);
    expect(Object.values(a.items).map((i) => i.servedFrom)).toEqual(['upstream', 'upstream', 'upstream', 'upstream']);
    expect(a.stale).toBe(false);
    expect(a.teeType).toBe('TDX');
    expect(pcsSignatureValid(a.tcbInfoIssuerChain, a.tcbInfoBody, a.tcbInfoSignature)).toBe(true);

    clock = new Date('2023-07-01T00:00:00Z');
    const b = await s.get(TDX_QUERY);
    expect(fx.requests).toHaveLength(4);
    expect(Object.values(b.items).map((i) => i.servedFrom)).toEqual(['cache', 'cache', 'cache', 'cache']);
    // the cached copy is the same signed bytes
    expect(b.tcbInfoBody).toBe(a.tcbInfoBody);
    expect(b.qeIdentitySignature.equals(a.qeIdentitySignature)).toBe(true);
    expect(b.pckCrl.equals(goTdx.pckCrl())).toBe(true);
    expect(b.rootCaCrl.equals(goTdx.rootCrl())).toBe(true);
    expect(b.fetchedAt.toISOString()).toBe('2023-06-20T00:00:00.000Z');
  });

  it('refetches exactly the items past their own nextUpdate', async () => {
    const s = source();
    await s.get(TDX_QUERY);
    fx.requests.length = 0;
    clock = new Date('2023-07-10T00:00:00Z'); // QE identity and PCK CRL expired on 2023-07-08, TCB info on 07-18
    const r = await s.get(TDX_QUERY);
    expect(fx.requests.map((q) => q.path).sort()).toEqual(['/sgx/certification/v4/pckcrl?ca=platform&encoding=der', '/tdx/certification/v4/qe/identity']);
    expect(r.items.tcbInfo.servedFrom).toBe('cache');
    expect(r.items.qeIdentity.servedFrom).toBe('upstream');
    expect(r.items.pckCrl.servedFrom).toBe('upstream');
    expect(r.items.rootCaCrl.servedFrom).toBe('cache');
    expect(r.stale).toBe(false);
  });

  it('serves expired items as stale when the upstream fails, and says which and since when', async () => {
    const s = source();
    await s.get(TDX_QUERY);
    fx.mode = 'down';
    clock = new Date('2023-07-10T00:00:00Z');
    const r = await s.get(TDX_QUERY);
    expect(r.stale).toBe(true);
    expect(r.staleItems.map((i) => [i.item, i.key, i.since.toISOString()]).sort()).toEqual([
      ['pckCrl', 'platform', '2023-07-08T07:27:52.000Z'],
      ['qeIdentity', 'TDX', '2023-07-08T07:24:59.000Z'],
    ]);
    expect(r.staleItems[0].error).toMatch(/HTTP 503/);
    expect(r.items.qeIdentity.servedFrom).toBe('stale-cache');
    expect(r.items.tcbInfo.servedFrom).toBe('cache');
    expect(cache.get(fx.url, 'qeIdentity', 'TDX')?.lastError).toMatch(/503/);
    // the upstream comes back: the next call revalidates and the flag goes away
    fx.mode = 'ok';
    const again = await s.get(TDX_QUERY);
    expect(again.stale).toBe(false);
    expect(cache.get(fx.url, 'qeIdentity', 'TDX')?.lastError).toBeUndefined();
  });

  it('429 also falls back to stale; 404 does not hide behind a stale copy', async () => {
    const s = source();
    await s.get(TDX_QUERY);
    clock = new Date('2023-07-10T00:00:00Z');
    fx.mode = 'rate-limited';
    expect((await s.get(TDX_QUERY)).stale).toBe(true);
    fx.mode = 'not-found';
    await expect(s.get(TDX_QUERY)).rejects.toMatchObject({ code: 'HTTP_STATUS', status: 404 });
  });

  it('maxStaleSeconds bounds how long an expired copy may be served', async () => {
    const s = source({ maxStaleSeconds: 3600 });
    await s.get(TDX_QUERY);
    fx.mode = 'down';
    clock = new Date('2023-07-08T08:00:00Z'); // 35 min past the QE identity's nextUpdate
    expect((await s.get(TDX_QUERY)).stale).toBe(true);
    clock = new Date('2023-07-09T00:00:00Z');
    await expect(s.get(TDX_QUERY)).rejects.toThrow(/beyond the 3600 s stale limit/);
  });

  it('without a cached copy an upstream failure is an error', async () => {
    fx.mode = 'down';
    await expect(source().get(TDX_QUERY)).rejects.toBeInstanceOf(PcsError);
  });

  it('offline mode never calls the upstream and flags expired items', async () => {
    await source().get(TDX_QUERY);
    fx.requests.length = 0;
    clock = new Date('2023-07-10T00:00:00Z');
    const r = await source({ offline: true }).get(TDX_QUERY);
    expect(fx.requests).toHaveLength(0);
    expect(r.staleItems.map((i) => i.item).sort()).toEqual(['pckCrl', 'qeIdentity']);
    await expect(source({ offline: true }).get({ ...TDX_QUERY, fmspc: '00906ED50000' })).rejects.toMatchObject({ code: 'NOT_CACHED' });
  });

  it('survives a reopen of the file (keyed by source, kind and FMSPC / CA / TEE)', async () => {
    await source().get(TDX_QUERY);
    cache.close();
    cache = CollateralCache.open(join(dir, 'c.sqlite'));
    fx.requests.length = 0;
    await source().get(TDX_QUERY);
    expect(fx.requests).toHaveLength(0);
    expect(cache.list().map((r) => `${r.kind}/${r.key}`)).toEqual(['pckCrl/platform', 'qeIdentity/TDX', 'rootCaCrl/root', 'tcbInfo/TDX:50806F000000']);
    expect(cache.list().every((r) => r.source === fx.url)).toBe(true);
  });

  it('refresh refetches every cached item, fresh or not, and reports failures per item', async () => {
    await source().get(TDX_QUERY);
    fx.requests.length = 0;
    clock = new Date('2023-06-21T00:00:00Z');
    const ok = await refreshCache({ cache, clientFor: (u) => createPcsClient({ baseUrl: u, now }), now });
    expect(ok).toHaveLength(4);
    expect(ok.every((o) => o.ok)).toBe(true);
    expect(fx.requests).toHaveLength(4);
    expect(cache.get(fx.url, 'tcbInfo', 'TDX:50806F000000')?.fetchedAt.toISOString()).toBe('2023-06-21T00:00:00.000Z');
    fx.mode = 'down';
    const bad = await refreshCache({ cache, source: fx.url, clientFor: (u) => createPcsClient({ baseUrl: u, now }), now });
    expect(bad.every((o) => !o.ok && /503/.test(o.error ?? ''))).toBe(true);
    // the old copies stay
    expect(cache.list()).toHaveLength(4);
  });
});

describe('cache file handling', () => {
  it('rejects a file with a newer schema and a corrupt file with typed errors', () => {
    const newer = join(dir, 'newer.sqlite');
    const db = new Database(newer);
    db.pragma(`user_version = ${CACHE_SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => CollateralCache.open(newer)).toThrow(/schema version 2/);
    const junk = join(dir, 'junk.sqlite');
    writeFileSync(junk, Buffer.alloc(4096, 0x41));
    try {
      CollateralCache.open(junk);
      throw new Error('expected failure');
    } catch (e) {
      expect(e).toBeInstanceOf(PcsError);
      expect((e as PcsError).code).toBe('CACHE');
    }
  });

  it('default path honours SQH_COLLATERAL_CACHE, then XDG_CACHE_HOME', () => {
    expect(defaultCachePath({ SQH_COLLATERAL_CACHE: '/x/y.db' })).toBe('/x/y.db');
    expect(defaultCachePath({ XDG_CACHE_HOME: '/c' })).toBe('/c/sgx-quote-helper/collateral.sqlite');
  });
});
