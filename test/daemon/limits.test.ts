// Limits and bad input against an in-process daemon over a real Unix socket. The provider is the
// FakeProvider TEST DOUBLE (hardware boundary); everything else (sockets, HTTP, metrics) is real.
import net from 'node:net';
import { readdirSync, readlinkSync } from 'node:fs';
const fdList = () => readdirSync('/proc/self/fd').map((f) => { try { return `${f}:${readlinkSync(`/proc/self/fd/${f}`)}`; } catch { return f; } }).join(' ');
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, encodeRequest } from '../../src/aesm/index.js';
import type { DaemonHandle } from '../../src/daemon/index.js';
import { FakeProvider, KEY_ID, call, metricValue, openFdCount, rawExchange, removeDir, scrape, startTestDaemon, tempDir } from './helpers.js';

const validFrame = () => encodeFrame(encodeRequest({ kind: 'getSupportedAttKeyIdNum' }, { timeoutMs: 15000 }));

async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A connection that sends `bytes` and then nothing; resolves with how it ended. */
function idleConnection(socketPath: string, bytes: Buffer = Buffer.alloc(0)): { ended: Promise<{ gotBytes: number; error?: string }>; socket: net.Socket } {
  const socket = net.connect(socketPath);
  let got = 0;
  let error: string | undefined;
  socket.on('connect', () => bytes.length && socket.write(bytes));
  socket.on('data', (c) => (got += c.length));
  socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code));
  const ended = new Promise<{ gotBytes: number; error?: string }>((r) => socket.on('close', () => r({ gotBytes: got, ...(error ? { error } : {}) })));
  return { ended, socket };
}

describe('malformed input', () => {
  let dir: string;
  let daemon: DaemonHandle;
  let ops: string;
  let sock: string;
  beforeAll(async () => {
    dir = tempDir();
    daemon = await startTestDaemon(dir, new FakeProvider(), { requestTimeout: '300ms', maxRequestSize: '4096' });
    sock = daemon.config.socketPath;
    ops = (await daemon.opsAddress)!;
  });
  afterAll(async () => {
    await daemon.shutdown();
    removeDir(dir);
  });

  it('closes each bad input without a reply (EOF, never a reset), counts it, and keeps serving', async () => {
    // Warm up once so lazily opened fds (the provider key cache, fastify) are in the baseline.
    expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).errorCode).toBe(0);
    const fdsBefore = openFdCount();
    const valid = validFrame();
    const be = Buffer.from(valid);
    be.writeUInt32BE(valid.length - 4, 0);
    const cases: Array<[string, Buffer | Buffer[], string, { end?: boolean }]> = [
      ['4 GiB length prefix', Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]), 'too-large', {}],
      ['big-endian length prefix', be, 'too-large', {}],
      ['garbage bytes (an HTTP request)', Buffer.from('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'), 'too-large', {}],
      ['zero length prefix', Buffer.from([0, 0, 0, 0]), 'empty', {}],
      ['invalid protobuf', encodeFrame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 'invalid-protobuf', {}],
      ['no known sub-message', encodeFrame(Buffer.from([0xf8, 0x06, 0x01])), 'no-submessage', {}],
      ['early disconnect inside a frame', valid.subarray(0, 5), 'truncated', { end: true }],
      ['early disconnect before any byte', Buffer.alloc(0), 'disconnected', { end: true }],
    ];
    for (const [name, bytes, reason, o] of cases) {
      const before = metricValue((await scrape(ops)).text, 'sqh_aesm_frames_rejected_total', { reason }) ?? 0;
      const r = await rawExchange(sock, bytes, { endAfterWrite: !!o.end });
      expect(r.closedWithoutReply, name).toBe(true);
      expect(r.error, name).toBeUndefined();
      const after = metricValue((await scrape(ops)).text, 'sqh_aesm_frames_rejected_total', { reason });
      expect(after, name).toBe(before + 1);
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum, `served after ${name}`).toBe(1);
    }
    await until(async () => metricValue((await scrape(ops)).text, 'sqh_aesm_connections_open') === 0, 'connections to close');
    await until(() => openFdCount() <= fdsBefore, `open fds back to ${fdsBefore} (now ${fdList()})`);
  });

  it('cuts a slowloris connection at --request-timeout and counts it', async () => {
    const before = metricValue((await scrape(ops)).text, 'sqh_aesm_frames_rejected_total', { reason: 'timeout' }) ?? 0;
    const slow = idleConnection(sock, validFrame().subarray(0, 3));
    const end = await slow.ended;
    expect(end.gotBytes).toBe(0);
    expect(metricValue((await scrape(ops)).text, 'sqh_aesm_frames_rejected_total', { reason: 'timeout' })).toBe(before + 1);
  });

  it('reads a request that arrives in pieces, and serves only the first request on a connection', async () => {
    const f = validFrame();
    const pieces = await new Promise<Buffer>((resolve) => {
      const s = net.connect(sock);
      const chunks: Buffer[] = [];
      s.on('connect', async () => {
        for (let i = 0; i < f.length; i += 3) {
          s.write(f.subarray(i, i + 3));
          await new Promise((r) => setImmediate(r));
        }
      });
      s.on('data', (c) => chunks.push(c));
      s.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(pieces.readUInt32LE(0)).toBe(pieces.length - 4);
    const two = await rawExchange(sock, Buffer.concat([f, f]));
    expect(two.bytes.length).toBe(4 + two.bytes.readUInt32LE(0));
  });
});

describe('connection limit with eviction', () => {
  it('at --max-connections a newcomer evicts the connection that has sent the least (EOF, never a reset); only in-service connections are never evicted', async () => {
    // TEST DOUBLE provider whose getQuote waits on a gate: requests held "in service".
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const dir = tempDir();
    const daemon = await startTestDaemon(dir, new FakeProvider({ gate, maxConcurrency: 4 }), { maxConnections: '3', requestTimeout: '2s', firstByteTimeout: '2s' });
    const sock = daemon.config.socketPath;
    const ops = (await daemon.opsAddress)!;
    const rejected = async (reason: string) => metricValue((await scrape(ops)).text, 'sqh_aesm_connections_rejected_total', { reason });
    try {
      // Three connections fill the cap: one that dripped 2 bytes, one silent, one that dripped 3.
      const two = idleConnection(sock, validFrame().subarray(0, 2));
      const silent = idleConnection(sock);
      const three = idleConnection(sock, validFrame().subarray(0, 3));
      const openNow = async () => metricValue((await scrape(ops)).text, 'sqh_aesm_connections_open');
      await until(async () => (await openNow()) === 3, '3 open connections');
      await new Promise((r) => setTimeout(r, 50)); // the drip bytes are read
      // A well-behaved client arriving now is served; the silent connection made room.
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      expect(await silent.ended).toEqual({ gotBytes: 0 }); // EOF without a reply and without a reset
      // Refill with a connection that sent more: then the one that sent 2 bytes goes, then the one with 3.
      const four = idleConnection(sock, validFrame().subarray(0, 4));
      await until(async () => (await openNow()) === 3, 'the cap full again');
      await new Promise((r) => setTimeout(r, 50));
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      expect(await two.ended).toEqual({ gotBytes: 0 });
      const five = idleConnection(sock, validFrame().subarray(0, 5));
      await until(async () => (await openNow()) === 3, 'the cap full again');
      await new Promise((r) => setTimeout(r, 50));
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      expect(await three.ended).toEqual({ gotBytes: 0 });
      four.socket.destroy();
      five.socket.destroy();
      await until(async () => (await openNow()) === 0, 'no open connections');
      expect(await rejected('evicted')).toBe(3);
      // Three requests in service (held at the provider) are never evicted: a fourth client is refused.
      const quote = () => idleConnection(sock, encodeFrame(encodeRequest({ kind: 'getQuoteEx', report: Buffer.alloc(432), attKeyId: KEY_ID, bufSize: 8192 }, { timeoutMs: 15000 })));
      const held = [quote(), quote(), quote()];
      await until(async () => metricValue((await scrape(ops)).text, 'sqh_aesm_requests_in_flight') === 3, '3 requests in service');
      const refused = await rawExchange(sock, validFrame());
      expect(refused.closedWithoutReply).toBe(true);
      expect(refused.error).toBeUndefined(); // EOF, not a reset
      expect(await rejected('limit')).toBe(1);
      open();
      const served = await Promise.all(held.map((h) => h.ended));
      expect(served.every((r) => r.gotBytes > 1000)).toBe(true);
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).errorCode).toBe(0);
    } finally {
      open();
      await daemon.shutdown();
      removeDir(dir);
    }
  });

  it('closes a connection that sends nothing within --first-byte-timeout and counts it as idle', async () => {
    const dir = tempDir();
    const daemon = await startTestDaemon(dir, new FakeProvider(), { firstByteTimeout: '100ms', requestTimeout: '5s' });
    const ops = (await daemon.opsAddress)!;
    try {
      const silent = idleConnection(daemon.config.socketPath);
      expect((await silent.ended).gotBytes).toBe(0);
      expect(metricValue((await scrape(ops)).text, 'sqh_aesm_frames_rejected_total', { reason: 'idle' })).toBe(1);
    } finally {
      await daemon.shutdown();
      removeDir(dir);
    }
  });
});

describe('slow provider', () => {
  it('does not block /healthz or requests that need no provider call; queued calls get AESM_BUSY at --provider-timeout', async () => {
    // TEST DOUBLE provider whose getQuote hangs until the gate opens: a stuck hardware call.
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const provider = new FakeProvider({ gate, maxConcurrency: 1 });
    const dir = tempDir();
    const daemon = await startTestDaemon(dir, provider, { providerTimeout: '500ms' });
    const sock = daemon.config.socketPath;
    const ops = (await daemon.opsAddress)!;
    try {
      const quoteReq = { kind: 'getQuoteEx' as const, report: Buffer.alloc(432), attKeyId: KEY_ID, bufSize: 8192 };
      const stuck = call(sock, quoteReq);
      await until(() => provider.active === 1, 'the provider call to start');
      const queued = call(sock, quoteReq);
      const health = await scrape(ops, '/healthz');
      expect(health.status).toBe(200);
      expect((await call(sock, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      expect((await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: false })).errorCode).toBe(0);
      expect((await queued).errorCode).toBe(18);
      expect((await stuck).errorCode).toBe(18);
      expect(provider.maxActive).toBe(1);
      const m = (await scrape(ops)).text;
      expect(metricValue(m, 'sqh_provider_errors_total', { operation: 'getQuoteEx', code: '18' })).toBe(2);
      open();
      await until(() => provider.active === 0, 'the provider call to finish');
      expect((await call(sock, quoteReq)).errorCode).toBe(0);
    } finally {
      open();
      await daemon.shutdown();
      removeDir(dir);
    }
  });
});

