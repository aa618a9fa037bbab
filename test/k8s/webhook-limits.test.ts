// The admission webhook's HTTP limits over real HTTPS on loopback, driven by raw TLS sockets that
// misbehave on purpose (the issue: drips never cut, 4 MiB bodies held forever). The time bounds below
// only keep a hang from passing; the limits are small so the test is quick.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEBHOOK_SERVER_LIMITS, startWebhookServer, type WebhookServer } from '../../src/k8s/index.js';
import { drip, openRaw, within } from '../support/raw-http.js';
import { makeServingCert } from './support/certs.js';
import { httpsRequest } from './support/https-client.js';
import { admissionReview, barePod } from './fixtures/pods.js';

let dir: string;
let server: WebhookServer;
let ca: string;
const LIMITS = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 5000, keepAliveTimeoutMs: 300, maxRequestsPerSocket: 10, maxConnections: 4, bodyLimitBytes: 64 * 1024 };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sqh-webhook-limits-'));
  const cert = await makeServingCert();
  ca = cert.certPem;
  writeFileSync(join(dir, 'tls.crt'), cert.certPem);
  writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
  server = await startWebhookServer({
    certPath: join(dir, 'tls.crt'),
    keyPath: join(dir, 'tls.key'),
    listen: { host: '127.0.0.1', port: 0 },
    opsListen: { host: '127.0.0.1', port: 0 },
    logger: pino({ level: 'silent' }),
    limits: LIMITS,
  });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const review = () => JSON.stringify(admissionReview(barePod()));

describe('webhook HTTP limits', () => {
  it('defaults are stated', () => {
    expect(WEBHOOK_SERVER_LIMITS).toEqual({
      headersTimeoutMs: 10_000, requestTimeoutMs: 15_000, idleTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000,
      maxRequestsPerSocket: 1000, maxConnections: 64, bodyLimitBytes: 4 * 1024 * 1024,
    });
  });

  it('half-sent headers are cut off (headers timeout)', async () => {
    const c = await openRaw(server.url, { ca });
    c.send('POST /mutate HTTP/1.1\r\nHost: x\r\n');
    expect(await within(c.closed, 5000)).toBe(true);
  });

  it('a review body dripped a byte at a time is cut off before it is complete (request timeout)', async () => {
    const body = Buffer.from(review());
    const c = await openRaw(server.url, { ca });
    c.send(`POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
    const sent = await drip(c, body, 40);
    expect(c.isClosed()).toBe(true);
    expect(sent).toBeLessThan(body.length);
    expect(c.received()).not.toMatch(/AdmissionReview/);
  });

  it('a body over the cap gets 413; a normal review is still admitted', async () => {
    const big = await httpsRequest(`${server.url}/mutate`, { method: 'POST', body: 'x'.repeat(200 * 1024), ca });
    expect(big.status).toBe(413);
    const ok = await httpsRequest(`${server.url}/mutate`, { method: 'POST', body: review(), ca });
    expect(ok.status).toBe(200);
    expect((ok.json as { kind: string }).kind).toBe('AdmissionReview');
  });

  it('connections over the cap are refused, and an idle keep-alive connection is closed', async () => {
    const held = await Promise.allSettled(Array.from({ length: 6 }, () => openRaw(server.url, { ca })));
    await new Promise((r) => setTimeout(r, 300));
    const open = held.filter((h) => h.status === 'fulfilled' && !h.value.isClosed());
    expect(open.length).toBe(4);
    for (const h of held) if (h.status === 'fulfilled') h.value.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const c = await openRaw(server.url, { ca });
    c.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await within(c.closed, 5000)).toBe(true);
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
  });

  it('the ops listener has the same timeouts and a small body cap', async () => {
    const c = await openRaw(server.opsUrl!);
    c.send('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(await within(c.closed, 5000)).toBe(true);
    const r = await fetch(`${server.opsUrl}/healthz`, { method: 'POST', body: 'x'.repeat(32 * 1024), headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(413);
  });
});
