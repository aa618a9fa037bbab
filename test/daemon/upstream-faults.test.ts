// The upstream provider against an upstream that hangs (accepts, never answers) and one that
// answers: a real in-process daemon (FakeProvider TEST DOUBLE behind it, the hardware boundary)
// reached through a real Unix-socket relay we can switch to "hang". Everything else is real.
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createUpstreamProvider } from '../../src/providers/upstream/index.js';
import { FakeProvider, KEY_ID, call, removeDir, scrape, startTestDaemon, tempDir } from './helpers.js';

/** A relay at `at`: in "hang" mode it accepts and holds every connection; otherwise it pipes to `to`. */
async function switchableUpstream(at: string, to: string) {
  let hang = true;
  let accepted = 0;
  const held = new Set<net.Socket>();
  const server = net.createServer((c) => {
    accepted++;
    c.on('error', () => undefined);
    if (hang) {
      held.add(c);
      c.on('close', () => held.delete(c));
      return;
    }
    const u = net.connect(to);
    u.on('error', () => c.destroy());
    c.pipe(u).pipe(c);
  });
  await new Promise<void>((r) => server.listen(at, r));
  return {
    setHang: (h: boolean) => (hang = h),
    get accepted() {
      return accepted;
    },
    get held() {
      return held.size;
    },
    close: () => {
      for (const c of held) c.destroy();
      server.close();
    },
  };
}

describe('upstream provider faults', () => {
  it('publishes at once with a hung upstream, /metrics never waits for it, and key ids come from the cache once known', async () => {
    const dir = tempDir();
    const backend = await startTestDaemon(path.join(dir), new FakeProvider(), { socket: path.join(dir, 'backend.sock') });
    const relay = await switchableUpstream(path.join(dir, 'up.sock'), backend.config.socketPath);
    const provider = createUpstreamProvider({ socketPath: path.join(dir, 'up.sock'), timeoutMs: 60_000 });
    // The upstream hangs: startDaemon still returns while the upstream holds our key-id request.
    const front = await startTestDaemon(dir, provider, { socket: path.join(dir, 'front.sock'), providerTimeout: '60s' });
    try {
      expect(relay.held).toBeGreaterThan(0);
      const ops = (await front.opsAddress)!;
      // /metrics answers while the upstream is still holding every request.
      const m = await scrape(ops);
      expect(m.status).toBe(200);
      expect(m.text).toContain('sqh_aesm_connections_open');
      expect(relay.held).toBeGreaterThan(0);
      expect((await scrape(ops, '/healthz')).status).toBe(200);

      // The upstream recovers: the background warm-up learns the key ids.
      relay.setHang(false);
      expect((await call(front.config.socketPath, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).errorCode).toBe(0);
      // Hung again: key-id and size queries are answered from the cache, without a round trip.
      relay.setHang(true);
      const before = relay.accepted;
      expect((await call(front.config.socketPath, { kind: 'getSupportedAttKeyIdNum' })).attKeyIdNum).toBe(1);
      expect((await call(front.config.socketPath, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: false })).errorCode).toBe(0);
      expect((await call(front.config.socketPath, { kind: 'getQuoteSizeEx', attKeyId: KEY_ID })).quoteSize).toBe(1500);
      expect(relay.accepted).toBe(before);
      // Readiness answers from the last successful call, without queueing behind the hung upstream.
      expect(JSON.parse((await scrape(ops, '/readyz')).text)).toMatchObject({ ready: true, provider: 'upstream' });
      expect(relay.accepted).toBe(before);
    } finally {
      relay.close();
      await front.shutdown();
      await backend.shutdown();
      removeDir(dir);
    }
  }, 30_000);
});
