import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLATERAL_SERVER_LIMITS, createCollateralServer, createUpstreamBackend, createPcsClient } from '../../src/pcs/index.js';
import { resolveServerLimits } from '../../src/http-limits.js';
import { drip, openRaw, within } from '../support/raw-http.js';
import { startTdxPcsFixture, type PcsFixture } from './helpers/pcs-fixture.js';
import { goTdx } from './helpers/testdata.js';

// The collateral server (proxy mode over a loopback stand-in for Intel's PCS) with small limits, driven
// by raw sockets that misbehave on purpose. The time bounds below only keep a hang from passing.

let fx: PcsFixture;
let app: FastifyInstance;
let url: string;
const LIMITS = { headersTimeoutMs: 400, requestTimeoutMs: 800, idleTimeoutMs: 5000, keepAliveTimeoutMs: 300, maxRequestsPerSocket: 2, maxConnections: 4, bodyLimitBytes: 1024 };
const TCB = `/tdx/certification/v4/tcb?fmspc=${goTdx.fmspc}`;

beforeAll(async () => {
  fx = await startTdxPcsFixture();
  app = createCollateralServer({ backend: createUpstreamBackend({ client: createPcsClient({ baseUrl: fx.url }) }), limits: LIMITS });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await app.close();
  await fx.close();
});

describe('collateral server limits', () => {
  it('defaults are stated and checked', () => {
    expect(COLLATERAL_SERVER_LIMITS).toEqual({
      headersTimeoutMs: 10_000, requestTimeoutMs: 15_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 1000, maxConnections: 256, bodyLimitBytes: 16 * 1024,
    });
    expect(() => resolveServerLimits(COLLATERAL_SERVER_LIMITS, { maxConnections: 0 })).toThrow(/maxConnections/);
    expect(() => resolveServerLimits(COLLATERAL_SERVER_LIMITS, { requestTimeoutMs: 1.5 })).toThrow(/requestTimeoutMs/);
  });

  it('a client that never finishes its headers is cut off (headers timeout)', async () => {
    const c = await openRaw(url);
    c.send('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    expect(await within(c.closed, 5000)).toBe(true);
    expect(c.received()).not.toMatch(/200 OK/);
  });

  it('a body dripped a byte at a time is cut off (request timeout), well before it is sent', async () => {
    const c = await openRaw(url);
    c.send(`GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\nContent-Type: text/plain\r\n\r\n`);
    const sent = await drip(c, Buffer.alloc(500, 0x61), 50);
    expect(c.isClosed()).toBe(true);
    expect(sent).toBeLessThan(500);
  });

  it('a request body over the cap gets 413 without being read', async () => {
    const r = await fetch(`${url}/healthz`, { method: 'POST', body: 'x'.repeat(4096), headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(413);
  });

  it('connections over the cap are refused; the server still answers once they go', async () => {
    const held = await Promise.all(Array.from({ length: 6 }, () => openRaw(url)));
    await new Promise((r) => setTimeout(r, 200));
    const refused = held.filter((c) => c.isClosed()).length;
    expect(refused).toBe(2);
    held.forEach((c) => c.destroy());
    await Promise.all(held.map((c) => c.closed));
    await new Promise((r) => setTimeout(r, 50));
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('an idle keep-alive connection is closed; a socket serves at most maxRequestsPerSocket requests', async () => {
    const idle = await openRaw(url);
    idle.send('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await within(idle.closed, 5000)).toBe(true);
    expect(idle.received()).toMatch(/^HTTP\/1\.1 200/);
    const c = await openRaw(url);
    c.send(`GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET ${TCB} HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(await within(c.closed, 5000)).toBe(true);
    const statuses = c.received().match(/HTTP\/1\.1 \d{3}/g) ?? [];
    expect(statuses.slice(0, 2)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200']);
    // the second answer says it is the last one on this socket
    expect(c.received()).toMatch(/[Cc]onnection: close/);
  });
});
