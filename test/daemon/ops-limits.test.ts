// The ops server's HTTP limits over real HTTP on loopback, driven by raw sockets that misbehave on
// purpose (a kubelet and a scraper send three small GETs; anyone else on the pod network may not).
// The limits are small so the test is quick; the time bounds only keep a hang from passing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { OPS_SERVER_LIMITS, buildOpsServer } from '../../src/daemon/ops-server.js';
import { drip, openRaw, within } from '../support/raw-http.js';
import { FakeProvider, scrape, silentLogger } from './helpers.js';

const LIMITS = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 5000, keepAliveTimeoutMs: 300, maxRequestsPerSocket: 10, maxConnections: 4, bodyLimitBytes: 1024 };
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  app = buildOpsServer({
    provider: new FakeProvider(),
    metrics: new DaemonMetrics({ defaultMetrics: false }),
    logger: silentLogger,
    version: 'test',
    isDraining: () => false,
    limits: LIMITS,
  });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
});

describe('ops server HTTP limits', () => {
  it('defaults are stated', () => {
    expect(OPS_SERVER_LIMITS).toEqual({
      headersTimeoutMs: 5_000, requestTimeoutMs: 10_000, idleTimeoutMs: 30_000, keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 1000, maxConnections: 64, bodyLimitBytes: 1024,
    });
  });

  it('half-sent headers are cut off (headers timeout), and /healthz still answers', async () => {
    const c = await openRaw(url);
    c.send('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    expect(await within(c.closed, 5000)).toBe(true);
    expect(c.received()).not.toMatch(/sqh_/);
    expect((await scrape(url, '/healthz')).status).toBe(200);
  });

  it('a body dripped a byte at a time is cut off before it is complete (request timeout)', async () => {
    const body = Buffer.alloc(600, 0x61);
    const c = await openRaw(url);
    c.send(`POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`);
    const sent = await drip(c, body, 20);
    expect(c.isClosed()).toBe(true);
    expect(sent).toBeLessThan(body.length);
  });

  it('a body over the cap is refused with 413 before it is read', async () => {
    const c = await openRaw(url);
    c.send(`POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${64 * 1024}\r\n\r\n`);
    await within(c.closed, 3000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413/);
    c.destroy();
  });

  it('connections over the cap are refused; once they go, a scrape is served again', async () => {
    const held = await Promise.allSettled(Array.from({ length: 7 }, () => openRaw(url)));
    await new Promise((r) => setTimeout(r, 300));
    const open = held.filter((h) => h.status === 'fulfilled' && !h.value.isClosed());
    expect(open.length).toBe(LIMITS.maxConnections);
    for (const h of held) if (h.status === 'fulfilled') h.value.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const m = await scrape(url, '/metrics');
    expect(m.status).toBe(200);
    expect(m.text).toMatch(/sqh_info/);
  });
});
