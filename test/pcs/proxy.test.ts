import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import {
  CACHE_HEADER,
  CollateralCache,
  createCollateralServer,
  createPcsClient,
  createPcsCollateralSource,
  createSimBackend,
  createUpstreamBackend,
  SIMULATED_HEADER,
  STALE_SINCE_HEADER,
} from '../../src/pcs/index.js';
import { startTdxPcsFixture, TDX_QUERY, type PcsFixture } from './helpers/pcs-fixture.js';
import { goTdx, pcsSignatureValid } from './helpers/testdata.js';
import { newSimPlatform } from './helpers/sim.js';

// Upstream = a loopback server replaying real PCS answers: the stand-in for Intel's PCS / a PCCS
// (an external boundary). The proxy under test is our real server with a real SQLite cache.

let fx: PcsFixture;
let dir: string;
let cache: CollateralCache;
let proxy: FastifyInstance;
let proxyUrl: string;
let clock: Date;

beforeAll(async () => {
  fx = await startTdxPcsFixture();
});
afterAll(() => fx.close());

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-proxy-'));
  cache = CollateralCache.open(join(dir, 'proxy.sqlite'));
  clock = new Date('2023-06-20T00:00:00Z');
  fx.mode = 'ok';
  fx.requests.length = 0;
  const now = () => clock;
  proxy = createCollateralServer({ backend: createUpstreamBackend({ client: createPcsClient({ baseUrl: fx.url, now }), cache, now }) });
  await proxy.listen({ host: '127.0.0.1', port: 0 });
  proxyUrl = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  await proxy.close();
  cache.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('collateral server, caching-proxy mode', () => {
  it('hits the upstream once, then serves the same bytes and headers from the cache', async () => {
    const path = `/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`;
    const first = await fetch(`${proxyUrl}${path}`);
    const firstBody = await first.text();
    const second = await fetch(`${proxyUrl}${path}`);
    const secondBody = await second.text();
    expect(fx.requests.filter((r) => r.path.startsWith('/tdx/certification/v4/tcb'))).toHaveLength(1);
    expect(firstBody).toBe(goTdx.tcbInfoResponse());
    expect(secondBody).toBe(goTdx.tcbInfoResponse());
    expect(first.headers.get(CACHE_HEADER)).toBe('miss');
    expect(second.headers.get(CACHE_HEADER)).toBe('hit');
    expect(second.headers.get('TCB-Info-Issuer-Chain')).toBe(goTdx.tcbChainEncoded());
    expect(second.headers.get(SIMULATED_HEADER)).toBeNull();
  });

  it('a full collateral set through the proxy verifies and is fetched from upstream once', async () => {
    const client = createPcsClient({ baseUrl: proxyUrl });
    const a = await createPcsCollateralSource({ client }).get(TDX_QUERY);
    const b = await createPcsCollateralSource({ client }).get(TDX_QUERY);
    expect(fx.requests).toHaveLength(4);
    expect(pcsSignatureValid(b.tcbInfoIssuerChain, b.tcbInfoBody, b.tcbInfoSignature)).toBe(true);
    expect(pcsSignatureValid(b.qeIdentityIssuerChain, b.qeIdentityBody, b.qeIdentitySignature)).toBe(true);
    expect(b.pckCrl.equals(goTdx.pckCrl())).toBe(true);
    expect(b.pckCrlIssuerChain).toBe(goTdx.crlChainPem());
    expect(b.rootCaCrl.equals(goTdx.rootCrl())).toBe(true);
    expect(a.tcbInfoBody).toBe(b.tcbInfoBody);
  });

  it('serves an expired copy as stale (Warning + SQH-Stale-Since) when the upstream is down', async () => {
    await fetch(`${proxyUrl}/tdx/certification/v4/qe/identity`);
    fx.mode = 'down';
    clock = new Date('2023-07-10T00:00:00Z');
    const r = await fetch(`${proxyUrl}/tdx/certification/v4/qe/identity`);
    expect(r.status).toBe(200);
    expect(await r.text()).toBe(goTdx.qeIdentityResponse());
    expect(r.headers.get(CACHE_HEADER)).toBe('stale');
    expect(r.headers.get(STALE_SINCE_HEADER)).toBe('2023-07-08T07:24:59.000Z');
    expect(r.headers.get('Warning')).toBe('110 - "Response is Stale"');
  });

  it('passes upstream 404 through, answers 502 when the upstream is down and nothing is cached, 400 itself', async () => {
    fx.mode = 'not-found';
    expect((await fetch(`${proxyUrl}/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`)).status).toBe(404);
    fx.mode = 'down';
    const down = await fetch(`${proxyUrl}/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`);
    expect(down.status).toBe(503); // the upstream's own status is passed on
    fx.mode = 'rate-limited';
    const limited = await fetch(`${proxyUrl}/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('Retry-After')).toBe('60');
    const bad = await fetch(`${proxyUrl}/tdx/certification/v4/tcb?fmspc=nothex`);
    expect(bad.status).toBe(400);
    expect(fx.requests.some((r) => r.path.includes('nothex'))).toBe(false);
  });

  it('answers 502 with Error-Message when the upstream cannot be reached at all', async () => {
    const dead = createCollateralServer({ backend: createUpstreamBackend({ client: createPcsClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 2000 }) }) });
    const r = await dead.inject({ method: 'GET', url: '/sgx/certification/v4/qe/identity' });
    expect(r.statusCode).toBe(502);
    expect(r.headers['error-message']).toMatch(/cannot reach/);
    await dead.close();
  });

  it('can sit in front of our own sim server (proxy of a proxy-able PCS)', async () => {
    const now = new Date('2026-01-15T00:00:00Z');
    const { platform } = await newSimPlatform(now);
    const sim = createCollateralServer({ backend: await createSimBackend({ platform, now: () => now }) });
    await sim.listen({ host: '127.0.0.1', port: 0 });
    const simUrl = `http://127.0.0.1:${(sim.server.address() as AddressInfo).port}`;
    const front = createCollateralServer({ backend: createUpstreamBackend({ client: createPcsClient({ baseUrl: simUrl }), cache, now: () => now }) });
    try {
      const expected = await platform.collateral({ now });
      const r = await front.inject({ method: 'GET', url: `/sgx/certification/v4/tcb?fmspc=${expected.fmspc}` });
      expect(r.body).toBe(expected.tcbInfoPcsBody);
      // the simulated label survives the proxy and its cache
      expect(r.headers[SIMULATED_HEADER.toLowerCase()]).toBe('true');
      const again = await front.inject({ method: 'GET', url: `/sgx/certification/v4/tcb?fmspc=${expected.fmspc}` });
      expect(again.headers[CACHE_HEADER.toLowerCase()]).toBe('hit');
      expect(again.headers[SIMULATED_HEADER.toLowerCase()]).toBe('true');
      const viaSource = await createPcsCollateralSource({ client: createPcsClient({ baseUrl: simUrl }) }).get({ tee: 'SGX', fmspc: expected.fmspc, ca: expected.caType });
      expect(viaSource.simulated).toBe(true);
    } finally {
      await front.close();
      await sim.close();
    }
  });
});
