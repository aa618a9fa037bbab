import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CollateralCache, createPcsClient, createPcsCollateralSource } from '../../src/pcs/index.js';
import { createUpstreamBackend } from '../../src/pcs/upstream-backend.js';
import { startTdxPcsFixture, TDX_QUERY, type PcsFixture } from './helpers/pcs-fixture.js';

// `maxAgeSeconds`: a cached copy is refetched once it is that old, even while its nextUpdate is ahead.
// The fixture server replays real PCS answers; it stands in for Intel's PCS (external boundary).

let fx: PcsFixture;
let dir: string;
let cache: CollateralCache;
let clock: Date;
const now = () => clock;
const FETCHED = new Date('2023-06-20T00:00:00Z'); // every item of the fixture is fresh until 2023-07-08 or later
const later = (s: number) => new Date(FETCHED.getTime() + s * 1000);

beforeAll(async () => {
  fx = await startTdxPcsFixture();
});
afterAll(() => fx.close());
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-max-age-'));
  cache = CollateralCache.open(join(dir, 'c.sqlite'));
  fx.mode = 'ok';
  fx.requests.length = 0;
  clock = FETCHED;
});
afterEach(() => {
  cache.close();
  rmSync(dir, { recursive: true, force: true });
});

const source = (maxAgeSeconds?: number) =>
  createPcsCollateralSource({ client: createPcsClient({ baseUrl: fx.url, now }), cache, now, ...(maxAgeSeconds !== undefined ? { maxAgeSeconds } : {}) });
const servedFrom = (r: Awaited<ReturnType<ReturnType<typeof source>['get']>>) => Object.values(r.items).map((i) => i.servedFrom);

describe('cached collateral source: maxAgeSeconds', () => {
  it('serves from the cache while younger than maxAgeSeconds, refetches everything once older', async () => {
    const s = source(3600);
    expect(servedFrom(await s.get(TDX_QUERY))).toEqual(['upstream', 'upstream', 'upstream', 'upstream']);
    fx.requests.length = 0;
    clock = later(3599);
    expect(servedFrom(await s.get(TDX_QUERY))).toEqual(['cache', 'cache', 'cache', 'cache']);
    expect(fx.requests).toHaveLength(0);
    clock = later(3600); // exactly maxAgeSeconds old: no longer fresh
    const r = await s.get(TDX_QUERY);
    expect(servedFrom(r)).toEqual(['upstream', 'upstream', 'upstream', 'upstream']);
    expect(fx.requests).toHaveLength(4);
    expect(r.stale).toBe(false);
  });

  it('without maxAgeSeconds the same copies stay cached until their nextUpdate (the control)', async () => {
    const s = source();
    await s.get(TDX_QUERY);
    fx.requests.length = 0;
    clock = later(7 * 86_400);
    expect(servedFrom(await s.get(TDX_QUERY))).toEqual(['cache', 'cache', 'cache', 'cache']);
    expect(fx.requests).toHaveLength(0);
  });

  it('never extends freshness past nextUpdate', async () => {
    const s = source(365 * 86_400);
    await s.get(TDX_QUERY);
    fx.requests.length = 0;
    clock = new Date('2023-07-10T00:00:00Z'); // QE identity and PCK CRL expired on 2023-07-08
    const r = await s.get(TDX_QUERY);
    expect(r.items.qeIdentity.servedFrom).toBe('upstream');
    expect(r.items.pckCrl.servedFrom).toBe('upstream');
    expect(r.items.tcbInfo.servedFrom).toBe('cache');
  });

  it('the caching proxy backend (`collateral serve --upstream --max-age`) passes it through', async () => {
    const backend = createUpstreamBackend({ client: createPcsClient({ baseUrl: fx.url, now }), cache, now, maxAgeSeconds: 60 });
    expect((await backend.pcs.qeIdentity('TDX')).cache.servedFrom).toBe('upstream');
    clock = later(30);
    expect((await backend.pcs.qeIdentity('TDX')).cache.servedFrom).toBe('cache');
    clock = later(61);
    expect((await backend.pcs.qeIdentity('TDX')).cache.servedFrom).toBe('upstream');
  });
});
