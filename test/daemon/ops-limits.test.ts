// The ops server's HTTP limits over real HTTP on loopback, driven by raw sockets that misbehave on
// purpose (a kubelet and a scraper send three small GETs; anyone else on the pod network may not).
// The limits are small so the test is quick; the time bounds only keep a hang from passing.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OpsServer } from '../../src/daemon/ops-server.js';
import { DaemonMetrics } from '../../src/daemon/metrics.js';
import { OPS_SERVER_LIMITS, buildOpsServer } from '../../src/daemon/ops-server.js';
import { drip, openRaw, within } from '../support/raw-http.js';
import { FakeProvider, scrape, silentLogger } from './helpers.js';

const LIMITS = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 5000, keepAliveTimeoutMs: 300, maxRequestsPerSocket: 10, maxConnections: 4, bodyLimitBytes: 1024 };
let app: OpsServer;
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

describe('ops server routes', () => {
  const request = (method: string, path: string) =>
    new Promise<{ status: number; type: string | undefined; length: string | undefined; body: string }>((resolve, reject) => {
      const u = new URL(path, url);
      const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], length: res.headers['content-length'], body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('answers GET /healthz, /readyz and /metrics with their bodies, HEAD with the headers only', async () => {
    const h = await request('GET', '/healthz');
    expect(h.status).toBe(200);
    expect(h.type).toMatch(/^application\/json/);
    expect(JSON.parse(h.body)).toEqual({ status: 'ok', draining: false, service: 'sgx-quote-helper', pid: process.pid });
    const r = await request('GET', '/readyz?verbose=1');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ ready: true, provider: 'fake', fmspc: '00906ED50000', tcbStatus: 'UpToDate' });
    const m = await request('GET', '/metrics');
    expect(m.type).toMatch(/^text\/plain/);
    expect(m.body).toMatch(/sqh_info\{/);
    const head = await request('HEAD', '/healthz');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.length)).toBe(Buffer.byteLength(h.body));
  });

  it('answers 404 for other paths and methods', async () => {
    for (const [method, path] of [['GET', '/'], ['GET', '/metricsx'], ['POST', '/healthz'], ['DELETE', '/readyz']] as const) {
      const r = await request(method, path);
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(r.body)).toMatchObject({ statusCode: 404, error: 'Not Found' });
    }
  });
});
