// Spec §8 item 9: the whole response frame goes out in ONE write, then end(). Intel's client has a
// read race when a response arrives in pieces. This test counts the writes the daemon's server-side
// sockets make (in-process daemon, FakeProvider TEST DOUBLE, real socket).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DaemonHandle } from '../../src/daemon/index.js';
import { FakeProvider, KEY_ID, call, removeDir, startTestDaemon, tempDir } from './helpers.js';

type Recorded = { writes: number; ends: number; endWithData: number };
const perSocket = new Map<net.Socket, Recorded>();
const origWrite = net.Socket.prototype.write;
const origEnd = net.Socket.prototype.end;
let dir: string;
let daemon: DaemonHandle;

beforeAll(async () => {
  const isServerSide = (s: net.Socket) => (s as unknown as { server?: unknown }).server !== undefined && (s as unknown as { server: unknown }).server !== null;
  const rec = (s: net.Socket) => {
    let r = perSocket.get(s);
    if (!r) perSocket.set(s, (r = { writes: 0, ends: 0, endWithData: 0 }));
    return r;
  };
  let inEnd = false;
  net.Socket.prototype.write = function (this: net.Socket, ...args: unknown[]) {
    if (isServerSide(this) && !inEnd) rec(this).writes++;
    return (origWrite as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof origWrite;
  net.Socket.prototype.end = function (this: net.Socket, ...args: unknown[]) {
    if (isServerSide(this)) {
      const r = rec(this);
      r.ends++;
      if (Buffer.isBuffer(args[0])) r.endWithData++;
    }
    inEnd = true;
    try {
      return (origEnd as (...a: unknown[]) => net.Socket).apply(this, args);
    } finally {
      inEnd = false;
    }
  } as typeof origEnd;
  dir = tempDir();
  daemon = await startTestDaemon(dir, new FakeProvider());
});

afterAll(async () => {
  net.Socket.prototype.write = origWrite;
  net.Socket.prototype.end = origEnd;
  await daemon.shutdown();
  removeDir(dir);
});

describe('response writes', () => {
  it('every reply is one buffer handed to end(), with no separate write before it', async () => {
    const sock = daemon.config.socketPath;
    await call(sock, { kind: 'getSupportedAttKeyIdNum' });
    await call(sock, { kind: 'initQuoteEx', attKeyId: KEY_ID, bPubKeyId: true, bufSize: 32n });
    await call(sock, { kind: 'getQuoteEx', report: Buffer.alloc(432), attKeyId: KEY_ID, bufSize: 65_536 });
    await call(sock, { kind: 'getQuoteEx', report: Buffer.alloc(1), attKeyId: KEY_ID, bufSize: 8192 });
    const daemonSockets = [...perSocket.values()].filter((r) => r.ends > 0);
    expect(daemonSockets.length).toBe(4);
    for (const r of daemonSockets) expect(r).toEqual({ writes: 0, ends: 1, endWithData: 1 });
  });
});
